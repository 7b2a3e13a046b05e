// `watch --metrics HOST:PORT`: Prometheus text format (prom-client) on /metrics, and /healthz:
// 200 while capture runs and the drain loop is alive, 503 otherwise. Every value is read from
// ProcMemWatcher.stats() and the outputs' counters at scrape time.

import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Registry } from 'prom-client';
import type { ProcMemWatcher } from '../watcher/watcher.js';
import type { OutputTotal } from './output-tally.js';

/** The drain loop counts as stuck when records wait in the ring and none was read this long. */
export const DRAIN_STALL_MS = 5000;

export function healthy(watcher: ProcMemWatcher, now = Date.now()): boolean {
  const s = watcher.stats();
  if (!s.running) return false;
  return s.ringFill === 0 || s.lastDrainAt === null || now - s.lastDrainAt < DRAIN_STALL_MS;
}

export function createRegistry(
  watcher: ProcMemWatcher,
  outputs: () => readonly OutputTotal[],
): Registry {
  const registry = new Registry();
  type Values = () => [Record<string, string>, number][];
  const options = (name: string, help: string, labelNames: string[]) => ({
    name,
    help,
    labelNames,
    registers: [registry],
  });
  // Each value is read from the watcher or an output at scrape time.
  const total = (name: string, help: string, labelNames: string[], values: Values) =>
    new Counter({
      ...options(name, help, labelNames),
      collect() {
        this.reset();
        for (const [labels, v] of values()) this.inc(labels, v);
      },
    });
  const gauge = (name: string, help: string, labelNames: string[], values: Values) =>
    new Gauge({
      ...options(name, help, labelNames),
      collect() {
        this.reset();
        for (const [labels, v] of values()) this.set(labels, v);
      },
    });
  const stats = () => watcher.stats();
  total('procmem_guard_kernel_events_total', 'Events the backend read from the kernel', [], () => [
    [{}, stats().eventsSeen],
  ]);
  total(
    'procmem_guard_filtered_total',
    'Events dropped on purpose in native code (not a mem file, own reads)',
    [],
    () => [[{}, stats().filtered]],
  );
  total('procmem_guard_events_total', 'security_file_open events emitted', [], () => [
    [{}, stats().emitted],
  ]);
  total(
    'procmem_guard_io_summaries_total',
    'proc_mem_io events emitted (observed access)',
    [],
    () => [[{}, stats().io.summaries]],
  );
  total(
    'procmem_guard_io_suppressed_total',
    'proc_mem_io events not emitted: every finding of their open was suppressed by the policy',
    [],
    () => [[{}, stats().io.suppressed]],
  );
  total('procmem_guard_findings_total', 'Findings by signature', ['signature'], () =>
    Object.entries(stats().findingsBySignature).map(([signature, v]) => [{ signature }, v]),
  );
  total('procmem_guard_signature_errors_total', 'Signatures that threw', [], () => [
    [{}, stats().signatureErrors],
  ]);
  total(
    'procmem_guard_suppressed_total',
    'Findings a policy exception suppressed, by exception name',
    ['exception'],
    () =>
      Object.entries(stats().policy.suppressedByException).map(([exception, v]) => [
        { exception },
        v,
      ]),
  );
  total(
    'procmem_guard_annotated_total',
    'Findings a policy exception annotated, by exception name',
    ['exception'],
    () =>
      Object.entries(stats().policy.annotatedByException).map(([exception, v]) => [
        { exception },
        v,
      ]),
  );
  type Stats = ReturnType<typeof stats>;
  // Plain counters of the stats; guard mode's are counted in the kernel (README "Guard mode"),
  // also when an event was lost.
  const counters: [string, string, (s: Stats) => number][] = [
    [
      'procmem_guard_dedup_folded_total',
      'Findings folded into a dedup count',
      (s) => s.policy.dedup.folded,
    ],
    [
      'procmem_guard_dedup_carried_total',
      'Folded findings counted in a later finding (repeats)',
      (s) => s.policy.dedup.carried,
    ],
    [
      'procmem_guard_dedup_evicted_total',
      'Folded findings whose key left the dedup table uncarried',
      (s) => s.policy.dedup.evicted,
    ],
    [
      'procmem_guard_enforcement_killed_total',
      'Openers guard mode killed at the open',
      (s) => s.enforcement.killed,
    ],
    [
      'procmem_guard_enforcement_would_kill_total',
      'Opens the guard mode dry run would have stopped',
      (s) => s.enforcement.wouldKill,
    ],
    [
      'procmem_guard_enforcement_kill_failures_total',
      'Kills the kernel refused (bpf_send_signal failed): those openers went on',
      (s) => s.enforcement.killFailures,
    ],
  ];
  for (const [metric, help, value] of counters)
    total(metric, help, [], () => [[{}, value(stats())]]);
  gauge(
    'procmem_guard_dedup_pending',
    'Folded findings waiting for a later finding of their key',
    [],
    () => [[{}, stats().policy.dedup.pending]],
  );
  gauge(
    'procmem_guard_enforcement_info',
    'Guard mode in use (value 1): off, enforce or dry-run',
    ['mode'],
    () => [[{ mode: stats().enforcement.mode }, 1]],
  );
  gauge(
    'procmem_guard_enforcement_kernel_exceptions',
    'Entries of the exception table guard mode decides with in the kernel',
    [],
    () => [[{}, stats().enforcement.exceptionsInKernel]],
  );
  total('procmem_guard_lost_total', 'Lost events by source and cause', ['source', 'cause'], () => {
    const s = stats();
    return Object.entries(s.lost)
      .filter(([cause]) => cause !== 'total')
      .map(([cause, v]) => [
        { source: cause === 'ringFull' ? 'ring' : (s.backend ?? 'none'), cause },
        v,
      ]);
  });
  for (const [metric, key, help] of [
    ['procmem_guard_output_delivered_total', 'delivered', 'Findings delivered by output'],
    ['procmem_guard_output_failed_total', 'failed', 'Findings an output gave up on after errors'],
    [
      'procmem_guard_output_dropped_total',
      'dropped',
      'Findings dropped because an output queue was full',
    ],
    ['procmem_guard_output_retries_total', 'retried', 'Retried deliveries by output'],
  ] as const) {
    total(metric, help, ['output'], () =>
      outputs().map((o) => [{ output: o.spec }, o.counters[key]]),
    );
  }
  gauge('procmem_guard_output_queued', 'Findings waiting in an output queue', ['output'], () =>
    outputs().map((o) => [{ output: o.spec }, o.counters.queued]),
  );
  gauge('procmem_guard_ring_fill', 'Records waiting in the capture ring', [], () => [
    [{}, stats().ringFill],
  ]);
  gauge('procmem_guard_ring_capacity', 'Capacity of the capture ring in records', [], () => [
    [{}, stats().ringCapacity],
  ]);
  gauge('procmem_guard_process_table_entries', 'Entries in the native process table', [], () => [
    [{}, stats().native.table_entries ?? 0],
  ]);
  gauge(
    'procmem_guard_native',
    'Raw native counters of the backend and the process table',
    ['name'],
    () => Object.entries(stats().native).map(([name, v]) => [{ name }, v]),
  );
  gauge('procmem_guard_capture_running', '1 while capture runs', [], () => [
    [{}, stats().running ? 1 : 0],
  ]);
  gauge('procmem_guard_backend_info', 'The capture backend in use (value 1)', ['backend'], () => [
    [{ backend: stats().backend ?? 'none' }, 1],
  ]);
  return registry;
}

/** Serves /metrics and /healthz; resolves once listening. */
export async function serveMetrics(
  host: string,
  port: number,
  watcher: ProcMemWatcher,
  outputs: () => readonly OutputTotal[],
): Promise<Server> {
  const registry = createRegistry(watcher, outputs);
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(text);
        },
        (err: Error) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`${err.message}\n`);
        },
      );
    } else if (path === '/healthz') {
      const ok = healthy(watcher);
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' });
      res.end(ok ? 'ok\n' : 'capture not running\n');
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found: try /metrics or /healthz\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
