// Reading the YAML files an operator hands us (watch --config, policy files): the file is
// treated as hostile (it must be a regular file, bounded and UTF-8: a FIFO would block, a
// huge file would fill memory), and a YAML syntax error is given with its line and column.
// Each caller words the failure as its own error (`fail`), naming the file.

import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { type Document, LineCounter, parseDocument } from 'yaml';

/** A file that opened but is not acceptable (kind, size, encoding): the message says why. */
class Refused extends Error {}

/** The text of `file`, at most `maxBytes`; anything else is `fail(reason)`, thrown. */
export function readTextFile(
  file: string,
  maxBytes: number,
  fail: (reason: string) => Error,
): string {
  try {
    return readBounded(file, maxBytes);
  } catch (err) {
    throw fail(err instanceof Refused ? err.message : `cannot read: ${(err as Error).message}`);
  }
}

function readBounded(file: string, maxBytes: number): string {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then refuses it. (Node opens
  // every fd close-on-exec.)
  const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    if (!fstatSync(fd).isFile()) throw new Refused('not a regular file');
    const buffer = Buffer.alloc(maxBytes + 1);
    let length = 0;
    for (;;) {
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
      if (length > maxBytes) throw new Refused(`larger than ${maxBytes} bytes`);
    }
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(buffer.subarray(0, length));
    } catch {
      throw new Refused('not UTF-8 text');
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * Parses YAML text (core schema, duplicate keys refused). The first syntax error is thrown as
 * `fail(line, column, message)`; the line counter turns later nodes' offsets into positions.
 */
export function parseYaml(
  text: string,
  fail: (line: number, column: number, message: string) => Error,
): { doc: Document; lines: LineCounter } {
  const lines = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter: lines,
    prettyErrors: false,
    uniqueKeys: true,
    schema: 'core',
  });
  const first = doc.errors[0];
  if (first) {
    // Without prettyErrors the error has only offsets: the line counter turns them into a position.
    const pos = lines.linePos(first.pos[0]);
    throw fail(pos.line, pos.col, first.message.split('\n')[0] as string);
  }
  return { doc, lines };
}
