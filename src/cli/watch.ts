// procmem-guard watch [--format json|tracee|pretty] [--events] [--backend auto|ebpf|fanotify|audit]

import { parseArgs } from 'node:util';
import { serializeEvent } from '../events/writer.js';
import { findingFormatter, formatEventPretty } from '../output/index.js';
import { ProcMemWatcher } from '../watcher/watcher.js';
import {
  backendOption,
  type CliIo,
  type Command,
  findingFormatOption,
  UsageError,
} from './command.js';
import { EXIT_FAILURE, EXIT_OK } from './exit-codes.js';

const HELP = `Usage: procmem-guard watch [--format json|tracee|pretty] [--events] [--backend auto|ebpf|fanotify|audit]

Watches this host for opens of procfs mem files (/proc/<pid>/mem, /proc/<pid>/task/<tid>/mem,
however reached) and prints one finding per line on standard output until SIGINT or SIGTERM,
then prints a summary on standard error and exits 0. Needs root: CAP_SYS_ADMIN for fanotify,
CAP_AUDIT_CONTROL for audit.

Options:
  -f, --format FORMAT  json (procmem-guard Finding JSON, the default), tracee (Tracee's
                       detection event JSON) or pretty (one aligned line for people)
      --events         also print every captured security_file_open event (json and tracee:
                       the Tracee event JSON; pretty: a line starting with "event")
  -b, --backend NAME   auto (the default: ebpf, else fanotify, else audit), ebpf, fanotify or audit
  -h, --help           show this help

Lost events (kernel queue overflow, full ring) and capture warnings go to standard error.
Exit status: 0 after a clean stop, 1 if capture could not start (the message says why and
what to do), 2 on a usage error.`;

export const watchCommand: Command = {
  name: 'watch',
  summary: 'watch this host live and print findings until SIGINT/SIGTERM (needs root)',
  help: HELP,
  run: runWatch,
};

async function runWatch(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      format: { type: 'string', short: 'f', default: 'json' },
      events: { type: 'boolean', default: false },
      backend: { type: 'string', short: 'b', default: 'auto' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    io.stdout.write(`${HELP}\n`);
    return EXIT_OK;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const format = findingFormatOption(values.format);
  const backend = backendOption(values.backend);

  const abort = new AbortController();
  const watcher = new ProcMemWatcher({ backend, signal: abort.signal });
  const formatFinding = findingFormatter(format);
  const formatEvent = format === 'pretty' ? formatEventPretty : serializeEvent;
  const out = (line: string) => io.stdout.write(`${line}\n`);
  if (values.events) watcher.on('event', (e) => out(formatEvent(e)));
  watcher.on('finding', (f) => out(formatFinding(f)));
  watcher.on('lost', (l) =>
    io.stderr.write(`procmem-guard: lost ${l.count} event(s): ${l.source} ${l.reason}\n`),
  );
  watcher.on('error', (e) => io.stderr.write(`procmem-guard: ${e.message}\n`));

  // Installed before start so a signal during start-up still stops cleanly.
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  try {
    await watcher.start();
  } catch (err) {
    io.stderr.write(`procmem-guard watch: ${(err as Error).message}\n`);
    return EXIT_FAILURE;
  }
  const started = watcher.stats();
  io.stderr.write(
    `procmem-guard: watching with ${started.backend} (${started.backendReason}); Ctrl-C stops\n`,
  );

  const signal = await stopped;
  abort.abort();
  await watcher.stop();
  const s = watcher.stats();
  const losses = Object.entries(s.lost)
    .filter(([k, v]) => k !== 'total' && v > 0)
    .map(([k, v]) => `${k} ${v}`);
  io.stderr.write(
    `procmem-guard: stopped on ${signal}: backend ${s.backend}, kernel events ${s.eventsSeen}, ` +
      `filtered ${s.filtered}, mem opens ${s.emitted}, findings ${s.findings}, ` +
      `lost ${s.lost.total}${losses.length ? ` (${losses.join(', ')})` : ''}\n`,
  );
  return EXIT_OK;
}
