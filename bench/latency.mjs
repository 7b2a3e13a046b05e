// Open-to-finding latency: a C child reads CLOCK_MONOTONIC, opens /proc/<pid>/mem and prints
// the reading; this process (running the watcher) takes process.hrtime.bigint() (also
// CLOCK_MONOTONIC) in its 'finding' callback. One open at a time (ping-pong), COUNT opens at
// idle and COUNT during a procfs open storm from another process. Usage: node bench/latency.mjs
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { ProcMemWatcher } from '../dist/index.js';
import { buildC, percentile, printTable, writeResult } from './lib.mjs';

const COUNT = Number(process.env.BENCH_LATENCY_COUNT ?? 1000);
// Opens per storm process; the measurement waits for the last one to finish (slow under audit).
const STORM_OPENS = process.env.BENCH_STORM_OPENS ?? '2000000';
const backendArg = process.env.BENCH_BACKEND ?? 'fanotify';
const opener = buildC('mem_opener');
const stormBin = buildC('open_storm');

async function measure(watcher, label) {
  const target = spawn('sleep', ['600'], { stdio: 'ignore' });
  const child = spawn(opener, [String(target.pid)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const opens = [];
  const found = [];
  const lat = [];
  let done;
  const finished = new Promise((r) => {
    done = r;
  });
  // One open every 2 ms at most: faster than 1000 a second, one uid's opens go over its budget
  // (native/util/flood_guard.h) and are folded, not reported, which this bench does not measure.
  const next = () => {
    if (lat.length >= COUNT) return done();
    setTimeout(() => child.stdin.write('x'), 2);
  };
  const pair = () => {
    while (opens.length && found.length) {
      lat.push(Number(found.shift() - opens.shift()) / 1e6);
      next();
    }
  };
  const onFinding = (f) => {
    if (f.event.hostProcessId !== child.pid) return;
    if (f.sigMetadata.ID !== 'TRC-1023') return;
    found.push(process.hrtime.bigint());
    pair();
  };
  watcher.on('finding', onFinding);
  createInterface({ input: child.stdout }).on('line', (l) => {
    opens.push(BigInt(l));
    pair();
  });
  const timeout = setTimeout(() => done(new Error('timed out')), 120_000);
  next();
  const err = await finished;
  clearTimeout(timeout);
  watcher.off('finding', onFinding);
  child.stdin.end();
  target.kill();
  if (err) console.error(`${label}: ${err.message} after ${lat.length} findings`);
  return {
    label,
    n: lat.length,
    p50: percentile(lat, 50).toFixed(3),
    p99: percentile(lat, 99).toFixed(3),
    max: Math.max(...lat).toFixed(3),
  };
}

const watcher = new ProcMemWatcher({ backend: backendArg });
watcher.on('error', (e) => console.error(`watcher error: ${e.message}`));
await watcher.start();
const rows = [];
rows.push(await measure(watcher, 'idle'));
// The storm: back-to-back storm processes until the measurement is done.
let storming = true;
const stormLoop = (async () => {
  while (storming) {
    await new Promise((r) => spawn(stormBin, [STORM_OPENS], { stdio: 'ignore' }).on('exit', r));
  }
})();
rows.push(await measure(watcher, 'during storm'));
storming = false;
await stormLoop;
const stats = watcher.stats();
await watcher.stop();
printTable(`Open-to-finding latency, ms (${watcher.stats().backend}, ${COUNT} opens each)`, rows);
console.log('goals: p99 <= 5 ms idle, <= 50 ms during the storm');
writeResult(`latency-${backendArg}`, { count: COUNT, rows, stats });
