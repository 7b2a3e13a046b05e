// A mem-open flood by an unprivileged user must not hide another user's read (issue 12): user
// `nobody` starts TARGETS sleeps of its own and OPENERS short-lived processes that each open
// every one of those mem files once; FLOOD_TO_READ_MS after the flood starts, root reads another
// process's mem with dd. Measures the time from root's open to its finding, what the flood cost
// (losses, folded opens), the watcher's RSS and capture thread CPU. Usage: node bench/flood.mjs
// (BENCH_BACKEND, BENCH_FLOOD_TARGETS, BENCH_FLOOD_OPENERS, BENCH_FLOOD_ROUNDS).
import { spawn } from 'node:child_process';
import { ProcMemWatcher } from '../dist/index.js';
import { buildC, median, printTable, writeResult } from './lib.mjs';
import { startUserFlood } from './user-flood.mjs';

const TARGETS = Number(process.env.BENCH_FLOOD_TARGETS ?? 300);
const OPENERS = Number(process.env.BENCH_FLOOD_OPENERS ?? 80);
const ROUNDS = Number(process.env.BENCH_FLOOD_ROUNDS ?? 3);
const FLOOD_TO_READ_MS = 500;
const backend = process.env.BENCH_BACKEND ?? 'fanotify';
const opener = buildC('mem_opener');

async function round(watcher, findings) {
  const log = (m) => process.env.BENCH_DEBUG && console.error(m);
  const victim = spawn('sleep', ['60'], { stdio: 'ignore' });
  const lostBefore = watcher.stats().lost.total;
  const flood = startUserFlood({ targets: TARGETS, openers: OPENERS });
  log('flood started');
  await new Promise((r) => setTimeout(r, FLOOD_TO_READ_MS));
  log('reading');
  // mem_opener reads CLOCK_MONOTONIC right before its open and prints it.
  const reader = spawn(opener, [String(victim.pid)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const openedAt = new Promise((r) =>
    reader.stdout.once('data', (d) => r(BigInt(String(d).trim()))),
  );
  reader.stdin.end('x');
  const t0 = await openedAt;
  log('opened');
  let latencyMs = null;
  for (let waited = 0; waited < 20_000 && latencyMs === null; waited += 5) {
    const f = findings.find((x) => x.pid === reader.pid);
    if (f) latencyMs = Number(f.at - t0) / 1e6;
    else await new Promise((r) => setTimeout(r, 5));
  }
  log(`latency ${latencyMs}`);
  await flood.done;
  log('flood done');
  const floodMs = performance.now() - flood.startedAt;
  flood.end();
  victim.kill();
  const s = watcher.stats();
  return {
    latencyMs,
    floodMs: Math.round(floodMs),
    lost: s.lost.total - lostBefore,
    rssMb: Math.round(process.memoryUsage().rss / 2 ** 20),
  };
}

const watcher = new ProcMemWatcher({ backend });
const findings = [];
watcher.on('finding', (f) =>
  findings.push({ pid: f.event.hostProcessId, at: process.hrtime.bigint() }),
);
watcher.on('error', (e) => console.error(`watcher: ${e.message}`));
await watcher.start();
const rows = [];
let maxRss = 0;
const sampler = setInterval(() => {
  maxRss = Math.max(maxRss, process.memoryUsage().rss);
}, 20);
try {
  for (let i = 0; i < ROUNDS; i++) rows.push({ round: i + 1, ...(await round(watcher, findings)) });
} finally {
  clearInterval(sampler);
  await watcher.stop();
}
const native = watcher.stats().native;
printTable(
  `Mem-open flood (${backend}): ${OPENERS} openers x ${TARGETS} own targets as nobody, root read ${FLOOD_TO_READ_MS} ms in`,
  rows,
);
const lat = rows.map((r) => r.latencyMs).filter((x) => x !== null);
console.log(
  `root read reported in ${lat.length}/${rows.length} rounds, median ${lat.length ? median(lat).toFixed(1) : 'n/a'} ms (goal <= 2000); ` +
    `max RSS ${Math.round(maxRss / 2 ** 20)} MB (goal < 96); native ${JSON.stringify(
      Object.fromEntries(
        Object.entries(native).filter(([k]) => /flood|fold|flags_|emitted|events_read/.test(k)),
      ),
    )}`,
);
writeResult(`flood-${backend}`, { rows, maxRssMb: maxRss / 2 ** 20, native });
