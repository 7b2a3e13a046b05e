// procmem-guard replay [FILE|-] [--format json|tracee|pretty] [--lenient]

import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { replay } from '../replay/replay.js';
import { type CliIo, type Command, EXIT_OK, findingFormatOption, UsageError } from './command.js';

const HELP = `Usage: procmem-guard replay [FILE|-] [--format json|tracee|pretty] [--lenient]

Reads Tracee JSON lines (tracee --output json) from FILE, or from standard input when
FILE is "-" or absent, runs the signatures (TRC-1023 proc_mem_access, TRC-1024
proc_mem_code_injection) and prints one finding per line on standard output.

Options:
  -f, --format FORMAT  json (procmem-guard Finding JSON, the default), tracee (Tracee's
                       detection event JSON) or pretty (one aligned line for people)
      --lenient        exit 0 even if some lines were malformed
  -h, --help           show this help

Malformed lines are reported on standard error with their line number and skipped. A
summary (events read, findings, malformed lines) goes to standard error at the end.
Exit status: 0 on success, 1 if any line was malformed (unless --lenient), 2 on a usage
error or unreadable input.`;

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
  const input = file === '-' ? io.stdin : await openInput(file);

  let outputClosed = false;
  io.stdout.on('error', (err: NodeJS.ErrnoException) => {
    // `procmem-guard replay x | head`: the reader went away; stop quietly.
    if (err.code === 'EPIPE') outputClosed = true;
    else throw err;
  });
  let needDrain = false;
  const summary = await replay(input, {
    format,
    write: (text) => {
      if (!outputClosed && !io.stdout.write(text)) needDrain = true;
    },
    drain: async () => {
      if (!needDrain || outputClosed) return;
      needDrain = false;
      await new Promise<void>((resolve) => {
        io.stdout.once('drain', resolve);
        io.stdout.once('error', () => resolve());
      });
    },
    stopped: () => outputClosed,
    onMalformed: (error) => io.stderr.write(`procmem-guard replay: ${error.message}\n`),
  });
  if (input !== io.stdin) input.destroy();
  io.stderr.write(
    `procmem-guard replay: ${summary.events} events read, ${summary.findings} findings, ` +
      `${summary.malformed} malformed lines` +
      `${summary.signatureErrors > 0 ? `, ${summary.signatureErrors} signature errors` : ''}\n`,
  );
  return summary.malformed > 0 && !values.lenient ? 1 : EXIT_OK;
}

/** Opens FILE first so that a missing or unreadable file is a clear error, not a stream event. */
async function openInput(file: string): Promise<Readable> {
  try {
    const handle = await open(file, 'r');
    return handle.createReadStream({ highWaterMark: 1024 * 1024 });
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
}
