// What observed access (proc_mem_io) costs on the fanotify backend (native/fanotify/io_marks.h):
// a read-heavy non-procfs workload (bench/c/rw_loop.c: N 4 KiB reads of /dev/zero, N 4 KiB
// writes to /dev/null, N getppid() calls; then N/8 reads of 64 KiB) and a reader of another
// process's memory (bench/c/mem_read_loop.c: M preads of 4 KiB through /proc/PID/mem), with no
// watcher, under the fanotify watcher with io tracking off (observeIo false, the default), on
// with nothing tracked, and on with the mem reader tracked (an inode mark on its file: each of
// its reads queues an access event). The host's workload is not marked in any mode: it shows
// that only the tracked file pays. Modes interleaved, order rotated each round, ROUNDS rounds,
// medians; ratios against io tracking off, of the same rounds.
// Needs root. Usage: node bench/io-track-fanotify.mjs  (BENCH_N, BENCH_MEM_N, BENCH_ROUNDS)

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  benchDir,
  buildC,
  interleavedRounds,
  machine,
  median,
  printTable,
  ratioText,
  runJson,
  spawnWatcher,
  spreadText,
  stopAndCollect,
  writeResult,
} from './lib.mjs';

const N = Number(process.env.BENCH_N ?? 2_000_000);
const MEM_N = Number(process.env.BENCH_MEM_N ?? 500_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const rwLoop = buildC('rw_loop');
const memReadLoop = buildC('mem_read_loop');
const heapTarget = buildC('heap_target', join(benchDir, '..', 'test', 'helpers', 'heap_target.c'));
// How long the tracked reader waits after its open before it reads: the watcher (another
// process, silent until it stops) reports the open and marks the file within a millisecond or
// two; its stats at stop confirm that the reader was tracked (the run fails otherwise).
const MARK_SETTLE_MS = 300;

// The process whose memory the reader reads: "<pid> <heap address>".
const target = spawn(heapTarget, [String(1 << 20)], { stdio: ['ignore', 'pipe', 'ignore'] });
const [targetPid, heapAddr] = await new Promise((resolve, reject) => {
  target.stdout.once('data', (d) => resolve(String(d).trim().split(' ')));
  target.on('error', reject);
});

/** The mem reader: opens, waits for the watcher's mark, reads MEM_N times; its JSON result. */
async function memReader() {
  const child = spawn(memReadLoop, [targetPid, heapAddr, String(MEM_N)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  const exited = new Promise((r) => child.on('exit', r));
  while (!out.includes('\n')) {
    if (child.exitCode !== null) throw new Error(`mem_read_loop exited: ${out}`);
    await sleep(5);
  }
  await sleep(MARK_SETTLE_MS);
  child.stdin.end('go\n');
  const code = await exited;
  if (code !== 0) throw new Error(`mem_read_loop exited ${code}: ${out}`);
  return JSON.parse(out.trim().split('\n').at(-1));
}

async function watcher(observeIo) {
  const w = await spawnWatcher('fanotify', observeIo ? ['observe-io'] : []);
  return { stop: () => stopAndCollect(w) };
}

// [watcher with observeIo?, run the mem reader?]
const modes = {
  none: [null, true],
  'fanotify, io tracking off': [false, true],
  'fanotify, nothing tracked': [true, false],
  'fanotify, mem reader tracked': [true, true],
};
let samples;
try {
  samples = await interleavedRounds(Object.keys(modes), ROUNDS, async (mode) => {
    const [observeIo, readMem] = modes[mode];
    const handle = observeIo === null ? null : await watcher(observeIo);
    const small = runJson(rwLoop, [String(N), '4096']);
    const large = runJson(rwLoop, [String(N / 8), '65536']);
    const mem = readMem ? await memReader() : null;
    const result = handle ? await handle.stop() : null;
    const native = result?.stats?.native ?? {};
    if (mode === 'fanotify, mem reader tracked' && !(native.io_tracked >= 1))
      throw new Error(`the mem reader was not tracked: ${JSON.stringify(native)}`);
    return {
      ...small,
      largeReadsPerSec: large.readsPerSec,
      memReadsPerSec: mem?.readsPerSec ?? null,
      tracked: native.io_tracked ?? null,
      accessEvents: native.io_access_events ?? null,
    };
  });
} finally {
  target.kill('SIGKILL');
}

const off = (key) => median(samples['fanotify, io tracking off'].map((s) => s[key]));
const ratio = (key, ss) => ratioText(off(key), median(ss.map((s) => s[key])));
const rows = Object.entries(samples).map(([mode, ss]) => {
  const reads = ss.map((s) => s.readsPerSec);
  const mem = ss.map((s) => s.memReadsPerSec).filter((v) => v !== null);
  return {
    mode,
    '4 KiB reads/s': Math.round(median(reads)),
    'read spread': spreadText(reads),
    'read vs off': ratio('readsPerSec', ss),
    'write vs off': ratio('writesPerSec', ss),
    '64 KiB vs off': ratio('largeReadsPerSec', ss),
    'getppid vs off': ratio('getppidPerSec', ss),
    'mem reads/s': mem.length ? Math.round(median(mem)) : '',
    'mem spread': mem.length ? spreadText(mem) : '',
    'mem vs off': mem.length ? ratio('memReadsPerSec', ss) : '',
    'opens tracked': mode === 'none' ? '' : ss.map((s) => s.tracked).join(','),
    'access events': mode === 'none' ? '' : ss.map((s) => s.accessEvents).join(','),
  };
});
console.log('machine:', JSON.stringify(machine()));
printTable(
  `fanotify io tracking cost: ${N} reads + ${N} writes of 4 KiB, ${N / 8} reads of 64 KiB, ${N} getppid, ${MEM_N} mem preads of 4 KiB per run, ${ROUNDS} rounds (medians)`,
  rows,
);
writeResult('io-track-fanotify', { n: N, memN: MEM_N, rounds: ROUNDS, rows, samples });
