// procmem-guard replay [FILE|-] [--format json|tracee|pretty] [--lenient] [--policy FILE]

import { fstatSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { describePolicyCounts } from '../policy/describe.js';
import { type ReplaySummary, replay } from '../replay/replay.js';
import { type CliIo, type Command, findingFormatOption, UsageError } from './command.js';
import { EXIT_FAILURE, EXIT_IO, EXIT_OK } from './exit-codes.js';
import { policyOption } from './policy.js';

const HELP = `Usage: procmem-guard replay [FILE|-] [--format json|tracee|pretty] [--lenient]
                            [--policy FILE]

Reads Tracee JSON lines (tracee --output json) from FILE, or from standard input when
FILE is "-" or absent, runs the signatures (TRC-1023 proc_mem_access, TRC-1024
proc_mem_code_injection) and prints one finding per line on standard output.

Options:
  -f, --format FORMAT  json (procmem-guard Finding JSON, the default), tracee (Tracee's
                       detection event JSON) or pretty (one aligned line for people)
      --lenient        exit 0 even if some lines were malformed
      --policy FILE    exceptions and dedup, as for watch. Tracee events carry no target or
                       parent information: exceptions with target, relation or parentExe
                       conditions never match them; dedup windows use event timestamps
  -h, --help           show this help

Malformed lines (not JSON, not an event, a field out of range, longer than 4 MiB or nested
deeper than 512) are reported on standard error with their line number and skipped. A
summary (events read, findings, malformed lines) goes to standard error at the end.
Exit status: 0 on success, also when the reader of the output went away (a closed pipe);
1 if any line was malformed (unless --lenient); 2 on a usage error or unreadable input (a
missing file, a directory); 74 if reading the input or writing the output failed (a full
disk); 70 on an internal error.`;

export const replayCommand: Command = {
  name: 'replay',
  summary: 'run the signatures over Tracee JSON lines from a file or stdin',
  help: HELP,
  run: runReplay,
};

async function runReplay(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      format: { type: 'string', short: 'f', default: 'json' },
      lenient: { type: 'boolean', default: false },
      policy: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    io.stdout.write(`${HELP}\n`);
    return EXIT_OK;
  }
  const format = findingFormatOption(values.format);
  if (positionals.length > 1)
    throw new UsageError(`expected at most one FILE, got ${positionals.length}`);
  const file = positionals[0] ?? '-';
  const policy = values.policy === undefined ? undefined : policyOption(values.policy);
  const input = file === '-' ? checkedStdin(io.stdin) : await openInput(file);
  const output = new OutputSink(io.stdout);
  let summary: ReplaySummary;
  try {
    summary = await replay(input, {
      format,
      write: (text) => output.write(text),
      drain: () => output.drain(),
      stopped: () => output.ended,
      onMalformed: (error) => io.stderr.write(`procmem-guard replay: ${error.message}\n`),
      ...(policy === undefined ? {} : { policy }),
    });
  } catch (err) {
    // The input failed while being read (EIO, EISDIR from a directory on stdin, ...).
    if (!isSystemError(err)) throw err;
    io.stderr.write(
      `procmem-guard replay: cannot read ${file === '-' ? 'standard input' : file}: ${err.message}\n`,
    );
    return EXIT_IO;
  } finally {
    if (input !== io.stdin) input.destroy();
    output.dispose();
  }
  io.stderr.write(
    `procmem-guard replay: ${summary.events} events read, ${summary.findings} findings, ` +
      `${summary.malformed} malformed lines` +
      `${summary.signatureErrors > 0 ? `, ${summary.signatureErrors} signature errors` : ''}` +
      `${summary.policy ? `; ${describePolicyCounts(summary.policy)}` : ''}` +
      `${output.closed ? ' (output closed early)' : ''}\n`,
  );
  if (output.error !== undefined) {
    io.stderr.write(`procmem-guard replay: cannot write the output: ${output.error.message}\n`);
    return EXIT_IO;
  }
  // `procmem-guard replay x | head`: the reader went away; that is not a failure.
  if (output.closed) return EXIT_OK;
  return summary.malformed > 0 && !values.lenient ? EXIT_FAILURE : EXIT_OK;
}

function isSystemError(err: unknown): err is NodeJS.ErrnoException {
  return (
    err instanceof Error &&
    typeof (err as NodeJS.ErrnoException).code === 'string' &&
    /^E[A-Z]+$/.test((err as NodeJS.ErrnoException).code as string)
  );
}

/**
 * Standard output with backpressure and one 'error' listener for the whole run: a closed
 * pipe (EPIPE) ends the replay quietly, any other error (ENOSPC, EIO) ends it with EXIT_IO.
 */
class OutputSink {
  /** The reader closed the pipe. */
  closed = false;
  /** Writing failed otherwise. */
  error: Error | undefined;
  private needDrain = false;
  private wake: (() => void) | undefined;
  private readonly onError = (err: NodeJS.ErrnoException): void => {
    if (err.code === 'EPIPE') this.closed = true;
    else this.error ??= err;
    this.wake?.();
  };
  private readonly onDrain = (): void => this.wake?.();

  constructor(private readonly stream: Writable) {
    stream.on('error', this.onError);
    stream.on('drain', this.onDrain);
    stream.on('close', this.onDrain);
  }

  get ended(): boolean {
    return this.closed || this.error !== undefined;
  }

  write(text: string): void {
    if (this.ended) return;
    try {
      if (!this.stream.write(text)) this.needDrain = true;
    } catch (err) {
      this.onError(err as NodeJS.ErrnoException); // a synchronous write that failed
    }
  }

  /** Waits until the stream takes more (or fails, or closes). */
  async drain(): Promise<void> {
    if (!this.needDrain || this.ended || this.stream.destroyed) return;
    this.needDrain = false;
    // Drained already (the event came before this wait): nothing to wait for.
    if (!this.stream.writableNeedDrain) return;
    await new Promise<void>((resolve) => {
      this.wake = resolve;
    });
    this.wake = undefined;
  }

  dispose(): void {
    this.stream.off('drain', this.onDrain);
    this.stream.off('close', this.onDrain);
    // A late error (say, EPIPE while the last batch is flushed) must not become uncaught.
    this.stream.off('error', this.onError);
    this.stream.on('error', ignoreLateError);
  }
}

function ignoreLateError(): void {}

/** Standard input, refused up front when it is a directory (`replay < /tmp`). */
function checkedStdin(stdin: Readable): Readable {
  const fd = (stdin as { fd?: unknown }).fd;
  let directory = false;
  try {
    directory = typeof fd === 'number' && fstatSync(fd).isDirectory();
  } catch {
    // Not a descriptor fstat can describe: read it and see.
  }
  if (directory) throw new UsageError('cannot read standard input: it is a directory');
  return stdin;
}

/** Opens FILE first so that a missing or unreadable file is a clear error, not a stream event. */
async function openInput(file: string): Promise<Readable> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
  const stats = await handle.stat();
  if (stats.isDirectory()) {
    await handle.close();
    throw new UsageError(`cannot read ${file}: it is a directory`);
  }
  return handle.createReadStream({ highWaterMark: 1024 * 1024 });
}
