// procmem-guard watch [--format F] [--events] [--backend B] [--output SPEC]... [--metrics HOST:PORT]
//                     [--policy FILE] [--enforce[=dry-run]] [--config FILE]

import type { Server } from 'node:http';
import { parseArgs } from 'node:util';
import { serializeEvent } from '../events/writer.js';
import type { EnforceOption } from '../guard/mode.js';
import {
  type FindingFormat,
  findingFormatter,
  formatEventPretty,
  ioFormatter,
} from '../output/index.js';
import { describePolicyCounts } from '../policy/describe.js';
import { formatDuration } from '../policy/duration.js';
import { type Policy, PolicyError } from '../policy/types.js';
import {
  ConfigError,
  loadConfig,
  type OutputConfig,
  parseHostPort,
  type WatchConfig,
} from '../service/config.js';
import { serveMetrics } from '../service/metrics.js';
import { OutputTally } from '../service/output-tally.js';
import { createOutput, type Output } from '../service/outputs.js';
import { CaptureError } from '../watcher/errors.js';
import { ProcMemWatcher } from '../watcher/watcher.js';
import {
  backendOption,
  type CliIo,
  type Command,
  findingFormatOption,
  UsageError,
} from './command.js';
import { EXIT_FAILURE, EXIT_INTERNAL, EXIT_IO, EXIT_OK, EXIT_UNAVAILABLE } from './exit-codes.js';
import { policyOption } from './policy.js';
import { describeEnforcement, enforceArgs, enforceFlag } from './watch-guard.js';

const HELP = `Usage: procmem-guard watch [--format json|tracee|pretty] [--events] [--backend auto|ebpf|fanotify|audit]
                           [--output SPEC]... [--metrics HOST:PORT] [--policy FILE]
                           [--enforce[=dry-run]] [--observe-io] [--config FILE]

Watches this host for opens of procfs mem files (/proc/<pid>/mem, /proc/<pid>/task/<tid>/mem,
however reached) and sends one finding per line to each output until SIGINT or SIGTERM, then
prints a summary on standard error and exits 0. Needs root or the capabilities README
"Operating it" lists for the backend.

Options:
  -f, --format FORMAT  json (procmem-guard Finding JSON, the default), tracee (Tracee's
                       detection event JSON) or pretty (one aligned line for people)
      --events         also send every captured security_file_open event (json and tracee:
                       the Tracee event JSON; pretty: a line starting with "event")
  -b, --backend NAME   auto (the default: ebpf, else fanotify, else audit), ebpf, fanotify or audit
  -o, --output SPEC    where findings go; repeatable (default stdout):
                         stdout, file:PATH (appended; re-opened on SIGHUP),
                         syslog (RFC 5424 to /dev/log), syslog:udp://HOST:PORT,
                         syslog:tcp://HOST:PORT (octet counted), webhook:URL (HTTP(S) POST of
                         JSON-lines batches, retried with backoff, bounded queue)
      --metrics HOST:PORT  serve Prometheus metrics on /metrics and health on /healthz
      --policy FILE    exceptions (suppress or annotate expected openers) and dedup; check
                       one with "procmem-guard policy check FILE". Without one, every
                       finding is sent
      --enforce        guard mode: kill (SIGKILL, at the open, in the kernel) every opener of
                       another process's mem file that no exception of the policy allows;
                       eBPF backend only, and every exception must be kernel-decidable
                       (README "Guard mode")
      --enforce=dry-run  the same decision, but only mark the findings "would-kill"
      --observe-io     follow each mem open with a proc_mem_io event once it is closed:
                       its reads, writes and bytes (eBPF backend: every read and write on
                       the host then runs a BPF program; fanotify: events counted on the
                       tracked file only, bytes unknown: README "Observed access")
  -c, --config FILE    YAML with any of: backend, format, events, outputs, metrics,
                       flushTimeoutMs, policy, enforce, observeIo; command-line options
                       override it
  -h, --help           show this help

With --observe-io and the eBPF or fanotify backend each mem open is followed, once the opener closes it
or exits, by a proc_mem_io event on the same outputs: its reads, writes and bytes (json and tracee: Tracee
event JSON with "eventName":"proc_mem_io"; pretty: a line marked "io").

An output never blocks capture: what it cannot deliver is queued (bounded), counted as
delivered, failed, dropped or retried, and reported on standard error once per incident.
SIGHUP re-opens file outputs, reloads --config and re-reads the policy (an invalid one is
reported and the running one kept); SIGTERM and SIGINT stop capture, give the outputs up to
flushTimeoutMs (default 5000) to deliver, then exit. Lost events and capture warnings go to
standard error; the summary counts suppressions by exception and dedup folds (with the
folded counts no later finding carried).
Exit status: 0 after a clean stop, also when the reader of standard output went away;
1 if capture could not start or stopped on a capture error; 2 on a usage, config or policy
error (FILE:LINE:COLUMN, also a policy --enforce cannot decide in the kernel); 69 if
--enforce cannot enforce here (no eBPF backend or no bpf_send_signal);
70 on an internal error (capture is stopped first); 74 if writing standard output failed.`;

export const watchCommand: Command = {
  name: 'watch',
  summary: 'watch this host live and send findings to outputs until SIGINT/SIGTERM (needs root)',
  help: HELP,
  run: runWatch,
};

/**
 * Warnings after which the native capture thread no longer runs (each backend's thread ends
 * on a failed poll; fanotify's on any error it throws): watch stops and exits 1.
 */
export function isFatalCaptureWarning(message: string): boolean {
  return /capture thread stopped|audit backend: poll:|eBPF backend: poll:/.test(message);
}

interface Settings {
  backend: string;
  format: FindingFormat;
  events: boolean;
  metrics?: string;
  flushTimeoutMs: number;
  outputs: OutputConfig[];
  policy?: string;
  enforce: EnforceOption;
  observeIo: boolean;
}

function settings(
  values: {
    format?: string;
    events?: boolean;
    backend?: string;
    output?: string[];
    metrics?: string;
    policy?: string;
    enforce?: EnforceOption;
    'observe-io'?: boolean;
  },
  config: WatchConfig,
): Settings {
  const cliOutputs = values.output?.map((spec) => ({ spec }));
  return {
    backend: values.backend ?? config.backend ?? 'auto',
    format: findingFormatOption(values.format ?? config.format ?? 'json'),
    events: values.events ?? config.events ?? false,
    metrics: values.metrics ?? config.metrics,
    flushTimeoutMs: config.flushTimeoutMs ?? 5000,
    outputs: cliOutputs ?? config.outputs ?? [{ spec: 'stdout' }],
    policy: values.policy ?? config.policy,
    enforce: values.enforce ?? config.enforce ?? false,
    observeIo: values['observe-io'] ?? config.observeIo ?? false,
  };
}

/** The policy file read and checked for watch (null: none); a bad one is a usage error. */
function readPolicy(file: string | undefined): Policy | null {
  return file === undefined ? null : policyOption(file);
}

type Ending =
  | { kind: 'signal'; signal: NodeJS.Signals }
  | { kind: 'stdout-closed' }
  | { kind: 'stdout-failed'; error: Error }
  | { kind: 'capture-failed'; message: string }
  | { kind: 'internal'; error: unknown };

async function runWatch(args: string[], io: CliIo): Promise<number> {
  const { values: parsed, positionals } = parseArgs({
    args: enforceArgs(args),
    allowPositionals: true,
    strict: true,
    options: {
      format: { type: 'string', short: 'f' },
      events: { type: 'boolean' },
      backend: { type: 'string', short: 'b' },
      output: { type: 'string', short: 'o', multiple: true },
      metrics: { type: 'string' },
      policy: { type: 'string' },
      enforce: { type: 'string' },
      'observe-io': { type: 'boolean' },
      config: { type: 'string', short: 'c' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const values = { ...parsed, enforce: enforceFlag(parsed.enforce) };
  if (values.help) {
    io.stdout.write(`${HELP}\n`);
    return EXIT_OK;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const readConfig = (): WatchConfig => {
    if (values.config === undefined) return {};
    try {
      return loadConfig(values.config);
    } catch (err) {
      if (err instanceof ConfigError) throw new UsageError(err.message);
      throw err;
    }
  };
  let current = settings(values, readConfig());
  const backend = backendOption(current.backend);
  const policy = readPolicy(current.policy);
  let policyLoaded = policy !== null;
  let metricsAt: { host: string; port: number } | undefined;
  if (current.metrics !== undefined) {
    try {
      metricsAt = parseHostPort(current.metrics);
    } catch (err) {
      throw new UsageError(`--metrics: ${(err as Error).message}`);
    }
  }

  let end: (e: Ending) => void = () => undefined;
  const ended = new Promise<Ending>((resolve) => {
    end = resolve;
  });
  const report = (message: string) => io.stderr.write(`procmem-guard: ${message}\n`);

  let outputs: { output: Output; format: FindingFormat }[] = [];
  const buildOutputs = (s: Settings) => {
    const made: typeof outputs = [];
    try {
      for (const o of s.outputs) {
        made.push({
          format: o.format ?? s.format,
          output: createOutput(o.spec, io.stdout, {
            report,
            headers: o.headers,
            queueLimit: o.queueLimit,
            syslogSocket: o.socket,
            batchSize: o.batchSize,
            retryBaseMs: o.retryBaseMs,
            retryMaxMs: o.retryMaxMs,
            timeoutMs: o.timeoutMs,
            onClosed: () => end({ kind: 'stdout-closed' }),
            onFatal: (error) => end({ kind: 'stdout-failed', error }),
          }),
        });
      }
    } catch (err) {
      for (const m of made) void m.output.close(0);
      throw new UsageError((err as Error).message);
    }
    return made;
  };
  outputs = buildOutputs(current);
  // Outputs a SIGHUP replaced, still draining; their counts stay in the totals (output-tally.ts).
  const draining = new Set<Output>();
  const tally = new OutputTally();
  const closeOutputs = (list: typeof outputs, deadline: number) =>
    Promise.all(
      list.map(async ({ output }) => {
        draining.add(output);
        await output.close(deadline);
        draining.delete(output);
        tally.closed(output);
      }),
    );
  const outputTotals = () => tally.totals([...outputs.map((o) => o.output), ...draining]);

  const abort = new AbortController();
  let watcher: ProcMemWatcher;
  try {
    watcher = new ProcMemWatcher({
      backend,
      signal: abort.signal,
      policy: policy ?? undefined,
      enforce: current.enforce,
      observeIo: current.observeIo,
    });
  } catch (err) {
    // A policy guard mode cannot decide in the kernel: FILE:LINE:COLUMN: FIELD: REASON.
    for (const o of outputs) void o.output.close(0);
    if (err instanceof PolicyError) throw new UsageError(err.message);
    throw err;
  }
  const send = (line: (f: FindingFormat) => string) => {
    for (const o of outputs) o.output.write(line(o.format));
  };
  watcher.on('event', (e) => {
    if (current.events) send((f) => (f === 'pretty' ? formatEventPretty(e) : serializeEvent(e)));
  });
  watcher.on('finding', (finding) => send((f) => findingFormatter(f)(finding)));
  // Observed access (eBPF, fanotify): each proc_mem_io follow-up goes where findings go.
  watcher.on('io', (io) => send((f) => ioFormatter(f)(io)));
  watcher.on('lost', (l) => report(`lost ${l.count} event(s): ${l.source} ${l.reason}`));
  watcher.on('error', (e) => {
    report(e.message);
    if (isFatalCaptureWarning(e.message)) end({ kind: 'capture-failed', message: e.message });
  });

  // Every way out goes through `ended`, so capture is always stopped before the exit.
  const onSignal = (signal: NodeJS.Signals) => end({ kind: 'signal', signal });
  // The policy file is re-read on every SIGHUP (from the reloaded config's path, or the
  // running one's if the config no longer parses); an invalid one leaves the running policy.
  const reloadPolicy = (file: string | undefined) => {
    try {
      const next = readPolicy(file);
      watcher.setPolicy(next);
      if (next !== null) {
        policyLoaded = true;
        report(`SIGHUP: policy reloaded: ${describeLoaded(next)}`);
      } else if (policyLoaded)
        report('SIGHUP: no policy configured any more; every finding is sent');
    } catch (err) {
      report(`SIGHUP: keeping the running policy: ${(err as Error).message}`);
    }
  };
  const onHangup = () => {
    try {
      const next = settings(values, readConfig());
      if (
        next.backend !== current.backend ||
        next.metrics !== current.metrics ||
        next.enforce !== current.enforce ||
        next.observeIo !== current.observeIo
      )
        report(
          'SIGHUP: backend, metrics, enforce and observeIo changes take effect at the next start',
        );
      const old = outputs;
      outputs = buildOutputs(next);
      current = next;
      void closeOutputs(old, Date.now() + current.flushTimeoutMs);
      report(`SIGHUP: configuration reloaded; ${outputs.length} output(s), files re-opened`);
    } catch (err) {
      report(`SIGHUP: keeping the running configuration: ${(err as Error).message}`);
      for (const o of outputs) o.output.reopen();
    }
    reloadPolicy(current.policy);
  };
  const onUncaught = (error: unknown) => end({ kind: 'internal', error });
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onHangup);
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUncaught);
  let server: Server | undefined;
  try {
    try {
      await watcher.start();
    } catch (err) {
      report(`watch: ${(err as Error).message}`);
      return err instanceof CaptureError && err.code === 'ENFORCE_UNAVAILABLE'
        ? EXIT_UNAVAILABLE
        : EXIT_FAILURE;
    }
    if (metricsAt) {
      try {
        server = await serveMetrics(metricsAt.host, metricsAt.port, watcher, outputTotals);
      } catch (err) {
        report(`watch: --metrics ${current.metrics}: ${(err as Error).message}`);
        return EXIT_FAILURE;
      }
    }
    const started = watcher.stats();
    report(
      `watching with ${started.backend} (${started.backendReason}); outputs ${outputs
        .map((o) => o.output.spec)
        .join(', ')}${server ? `; metrics on ${current.metrics}` : ''}${
        policy ? `; policy ${describeLoaded(policy)}` : ''
      }${describeEnforcement(started.enforcement, true)}; Ctrl-C stops`,
    );

    const ending = await ended;
    abort.abort();
    await watcher.stop();
    const last = outputs;
    outputs = []; // closed below: from here on their counts are in the tally only
    await closeOutputs(last, Date.now() + current.flushTimeoutMs);
    const s = watcher.stats();
    const losses = Object.entries(s.lost)
      .filter(([k, v]) => k !== 'total' && v > 0)
      .map(([k, v]) => `${k} ${v}`);
    const delivery = outputTotals()
      .map(
        ({ spec, counters: c }) =>
          `${spec} delivered ${c.delivered} failed ${c.failed} dropped ${c.dropped} retried ${c.retried}`,
      )
      .join('; ');
    report(
      `stopped on ${describe(ending)}: backend ${s.backend}, kernel events ${s.eventsSeen}, ` +
        `filtered ${s.filtered}, mem opens ${s.emitted}, findings ${s.findings}, ` +
        `${current.observeIo ? `io summaries ${s.io.summaries}, ` : ''}` +
        `lost ${s.lost.total}${losses.length ? ` (${losses.join(', ')})` : ''}; outputs: ${delivery}` +
        `${policyLoaded ? `; ${describePolicyCounts(s.policy)}` : ''}` +
        describeEnforcement(s.enforcement, false),
    );
    for (const p of watcher.pendingRepeats(PENDING_SHOWN))
      report(
        `not carried by a later finding: ${p.count} folded ${p.signature} ${p.access} by ${p.opener} of ${p.target}${p.exceptions ? ` (exceptions ${p.exceptions})` : ''}`,
      );
    switch (ending.kind) {
      case 'signal':
      case 'stdout-closed':
        return EXIT_OK;
      case 'stdout-failed':
        return EXIT_IO;
      case 'capture-failed':
        return EXIT_FAILURE;
      default: {
        const e = ending.error;
        report(`internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
        return EXIT_INTERNAL;
      }
    }
  } finally {
    // Reached on every path, including a throw from stop(): capture first, then the rest.
    abort.abort();
    await watcher.stop().catch(() => undefined);
    await closeOutputs(outputs, Date.now());
    server?.closeAllConnections();
    server?.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onHangup);
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onUncaught);
  }
}

/** Keys with pending dedup counts listed one per line in the exit summary, most first. */
const PENDING_SHOWN = 20;

function describeLoaded(policy: Policy): string {
  return `${policy.source} (${policy.exceptions.length} exception(s), ${
    policy.dedup ? `dedup window ${formatDuration(policy.dedup.windowMs)}` : 'no dedup'
  })`;
}

function describe(e: Ending): string {
  switch (e.kind) {
    case 'signal':
      return e.signal;
    case 'stdout-closed':
      return 'a closed standard output';
    case 'stdout-failed':
      return `a standard output error (${e.error.message})`;
    case 'capture-failed':
      return 'a capture error';
    case 'internal':
      return 'an internal error';
  }
}
