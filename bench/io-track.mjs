// What observed access (proc_mem_io, native/ebpf/io_track.bpf.h) costs the host: a read-heavy
// non-procfs workload (bench/c/rw_loop.c: N 4 KiB reads of /dev/zero, N 4 KiB writes to
// /dev/null, N getppid() calls; then N/8 reads of 64 KiB) with no watcher, under the eBPF watcher with nothing tracked (the read/write
// programs return after one load), and under it with one tracked fd held open by another
// process (the holder's reads would pay a hash lookup; others one more load), and with the
// eBPF backend but io tracking off (observeIo false, the default: what the backend costs without
// it, the syscall slow path). Modes interleaved, order rotated each round, ROUNDS rounds,
// medians; ratios against the no-watcher runs and against tracking off, of the same rounds.
// Needs root and the eBPF backend. Usage: node bench/io-track.mjs  (BENCH_N, BENCH_ROUNDS)

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  benchDir,
  buildC,
  machine,
  median,
  printTable,
  runJson,
  spawnReady,
  spread,
  stopAndCollect,
  writeResult,
} from './lib.mjs';

const N = Number(process.env.BENCH_N ?? 2_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const rwLoop = buildC('rw_loop');
const holder = buildC('mem_holder');
const watcherChild = join(benchDir, 'watcher-child.mjs');

// The process whose memory the holder opens.
const target = spawn('sleep', ['3600'], { stdio: 'ignore' });

async function watcher(trackOne, observeIo) {
  const w = await spawnReady(process.execPath, [
    watcherChild,
    'ebpf',
    ...(observeIo ? ['observe-io'] : []),
  ]);
  if (!w.readyLine.includes('ebpf')) throw new Error(`watcher started ${w.readyLine}`);
  const h = trackOne ? await spawnReady(holder, [String(target.pid)]) : null;
  return {
    async stop() {
      h?.child.kill('SIGKILL');
      return stopAndCollect(w);
    },
  };
}

const modes = {
  none: null,
  'ebpf, io tracking off': () => watcher(false, false),
  'ebpf, nothing tracked': () => watcher(false, true),
  'ebpf, one fd tracked': () => watcher(true, true),
};
const samples = Object.fromEntries(Object.keys(modes).map((m) => [m, []]));
try {
  for (let round = 0; round < ROUNDS; round++) {
    const order = Object.keys(modes);
    for (let i = 0; i < round % order.length; i++) order.push(order.shift());
    for (const mode of order) {
      const handle = modes[mode] ? await modes[mode]() : null;
      const small = runJson(rwLoop, [String(N), '4096']);
      const large = runJson(rwLoop, [String(N / 8), '65536']);
      const result = handle ? await handle.stop() : null;
      const tracked = result?.stats?.io?.tracked ?? null;
      samples[mode].push({ ...small, largeReadsPerSec: large.readsPerSec, tracked });
      await sleep(200);
    }
  }
} finally {
  target.kill('SIGKILL');
}

const base = (key) => median(samples.none.map((s) => s[key]));
const off = (key) => median(samples['ebpf, io tracking off'].map((s) => s[key]));
const rows = Object.entries(samples).map(([mode, ss]) => {
  const reads = ss.map((s) => s.readsPerSec);
  const writes = ss.map((s) => s.writesPerSec);
  const large = ss.map((s) => s.largeReadsPerSec);
  return {
    mode,
    'reads/s': Math.round(median(reads)),
    'read spread': `${(spread(reads) * 100).toFixed(1)}%`,
    'read slowdown': `${(base('readsPerSec') / median(reads)).toFixed(3)}x`,
    'writes/s': Math.round(median(writes)),
    'write spread': `${(spread(writes) * 100).toFixed(1)}%`,
    'write slowdown': `${(base('writesPerSec') / median(writes)).toFixed(3)}x`,
    // What io tracking adds to the eBPF backend's own cost (the syscall slow path).
    'read vs off': `${(off('readsPerSec') / median(reads)).toFixed(3)}x`,
    'write vs off': `${(off('writesPerSec') / median(writes)).toFixed(3)}x`,
    '64 KiB reads/s': Math.round(median(large)),
    '64 KiB spread': `${(spread(large) * 100).toFixed(1)}%`,
    '64 KiB vs off': `${(off('largeReadsPerSec') / median(large)).toFixed(3)}x`,
    'getppid vs off': `${(off('getppidPerSec') / median(ss.map((s) => s.getppidPerSec))).toFixed(3)}x`,
    'opens tracked': mode === 'none' ? '' : ss.map((s) => s.tracked).join(','),
  };
});
console.log('machine:', JSON.stringify(machine()));
printTable(
  `io tracking cost: ${N} reads + ${N} writes of 4 KiB, ${N / 8} reads of 64 KiB, ${N} getppid per run, ${ROUNDS} rounds (medians)`,
  rows,
);
writeResult('io-track', { n: N, rounds: ROUNDS, rows, samples });
