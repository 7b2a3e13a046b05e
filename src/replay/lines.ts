// Splits a byte stream into lines without holding more than one line in memory. Lines may
// end in LF or CRLF; a line longer than `maxLineBytes` is reported by number and skipped
// (its bytes are dropped as they arrive), so a runaway line cannot exhaust memory.

import type { Readable } from 'node:stream';

/**
 * Longer lines are malformed. Tracee's lines are about 1 KB (a path is at most 4 KiB); 4 MiB
 * bounds what one line can cost: JSON.parse of the worst 4 MiB (`[{},{},...]`, 2 M nested
 * arrays) peaks near 300 MB RSS, where 64 MiB of `{},` took 3.8 GB.
 */
export const DEFAULT_MAX_LINE_BYTES = 4 * 1024 * 1024;

export interface LineHandler {
  /** A complete line, without its line ending. */
  line(text: string, lineNo: number): void;
  /** A line over the limit; `bytes` counts what was seen before it was cut. */
  tooLong(lineNo: number, bytes: number): void;
}

export interface SplitOptions {
  maxLineBytes?: number;
  /** Called after each chunk's lines were handled, e.g. to flush and await output drain. */
  afterChunk?: () => Promise<void> | void;
  /** Stop early when this returns true (e.g. the output pipe closed). */
  stopped?: () => boolean;
}

export async function splitLines(
  input: Readable | AsyncIterable<Buffer | string>,
  handler: LineHandler,
  options: SplitOptions = {},
): Promise<void> {
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  let carry: Buffer[] = [];
  let carryBytes = 0;
  let overflowing = false; // the current line passed the limit; drop it up to its newline
  let lineNo = 0;

  const emit = (bytes: Buffer, start: number, end: number): void => {
    lineNo++;
    if (end > start && bytes[end - 1] === 0x0d) end--;
    let text = bytes.toString('utf8', start, end);
    if (lineNo === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    handler.line(text, lineNo);
  };

  for await (const piece of input) {
    const chunk = typeof piece === 'string' ? Buffer.from(piece) : piece;
    let pos = 0;
    for (;;) {
      const newline = chunk.indexOf(0x0a, pos);
      if (newline === -1) break;
      if (overflowing) {
        overflowing = false;
        handler.tooLong(++lineNo, carryBytes + newline - pos);
        carryBytes = 0;
      } else if (carryBytes > 0) {
        carry.push(chunk.subarray(pos, newline));
        const whole = Buffer.concat(carry, carryBytes + newline - pos);
        carry = [];
        carryBytes = 0;
        if (whole.length > maxLineBytes) handler.tooLong(++lineNo, whole.length);
        else emit(whole, 0, whole.length);
      } else if (newline - pos > maxLineBytes) {
        handler.tooLong(++lineNo, newline - pos);
      } else {
        emit(chunk, pos, newline);
      }
      pos = newline + 1;
    }
    if (pos < chunk.length) {
      carryBytes += chunk.length - pos;
      if (overflowing || carryBytes > maxLineBytes) {
        overflowing = true;
        carry = [];
      } else {
        // Copy: the stream may reuse its buffer.
        carry.push(Buffer.from(chunk.subarray(pos)));
      }
    }
    await options.afterChunk?.();
    if (options.stopped?.()) return;
  }
  if (overflowing) handler.tooLong(++lineNo, carryBytes);
  else if (carryBytes > 0) {
    const whole = Buffer.concat(carry, carryBytes);
    emit(whole, 0, whole.length);
  }
}
