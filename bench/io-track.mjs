// What observed access (proc_mem_io, native/ebpf/io_track.bpf.h) costs the host: a read-heavy
// non-procfs workload (bench/c/rw_loop.c: N 4 KiB reads of /dev/zero, N 4 KiB writes to
// /dev/null, N getppid() calls; then N/8 reads of 64 KiB; then bench/c/file_read_loop.c on a
// 64 MiB file in the page cache: N * 2 KiB read in 128 KiB read()s, as cat and cp do, and N/4
// random 4 KiB pread()s, as a database does) with no watcher, under the eBPF watcher with nothing tracked (the read/write
// programs return after one load), and under it with one tracked fd held open by another
// process (the holder's reads would pay a hash lookup; others one more load), and with the
// eBPF backend but io tracking off (observeIo false, the default: what the backend costs without
// it, the syscall slow path). Modes interleaved, order rotated each round, ROUNDS rounds,
// medians; ratios against the no-watcher runs and against tracking off, of the same rounds.
// Needs root and the eBPF backend. Usage: node bench/io-track.mjs  (BENCH_N, BENCH_ROUNDS)

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildC,
  interleavedRounds,
  machine,
  median,
  printTable,
  ratioText,
  runJson,
  spawnReady,
  spawnWatcher,
  spreadText,
  stopAndCollect,
  writeResult,
} from './lib.mjs';

const N = Number(process.env.BENCH_N ?? 2_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const rwLoop = buildC('rw_loop');
const fileReadLoop = buildC('file_read_loop');
const holder = buildC('mem_holder');
// On the root filesystem, not tmpfs: page-cache reads of a regular file.
const fileDir = mkdtempSync(join(tmpdir(), 'pmg-io-bench-'));
const dataFile = join(fileDir, 'data');
writeFileSync(dataFile, Buffer.alloc(64 << 20, 0x5a));
readFileSync(dataFile); // in the page cache before the first round

// The process whose memory the holder opens.
const target = spawn('sleep', ['3600'], { stdio: 'ignore' });

async function watcher(trackOne, observeIo) {
  const w = await spawnWatcher('ebpf', observeIo ? ['observe-io'] : []);
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
let samples;
try {
  samples = await interleavedRounds(Object.keys(modes), ROUNDS, async (mode) => {
    const handle = modes[mode] ? await modes[mode]() : null;
    const small = runJson(rwLoop, [String(N), '4096']);
    const large = runJson(rwLoop, [String(N / 8), '65536']);
    const file = runJson(fileReadLoop, [dataFile, String(N * 2048), String(N / 4)]);
    const result = handle ? await handle.stop() : null;
    return {
      ...small,
      largeReadsPerSec: large.readsPerSec,
      fileMiBPerSec: file.seqMiBPerSec,
      preadsPerSec: file.preadsPerSec,
      tracked: result?.stats?.io?.tracked ?? null,
    };
  });
} finally {
  target.kill('SIGKILL');
  rmSync(fileDir, { recursive: true, force: true });
}

const base = (key) => median(samples.none.map((s) => s[key]));
const off = (key) => median(samples['ebpf, io tracking off'].map((s) => s[key]));
// One workload's columns: median rate, spread, slowdown against no watcher and against the
// eBPF backend with tracking off (what io tracking adds to the backend's own cost, the
// syscall slow path).
function columns(ss, key, label) {
  const vals = ss.map((s) => s[key]);
  return {
    [label]: Math.round(median(vals)),
    spread: spreadText(vals),
    'vs none': ratioText(base(key), median(vals)),
    'vs off': ratioText(off(key), median(vals)),
  };
}
const workloads = [
  ['readsPerSec', '4 KiB /dev/zero reads/s'],
  ['writesPerSec', '4 KiB /dev/null writes/s'],
  ['largeReadsPerSec', '64 KiB /dev/zero reads/s'],
  ['fileMiBPerSec', 'cached file, 128 KiB reads, MiB/s'],
  ['preadsPerSec', 'cached file, random 4 KiB preads/s'],
  ['getppidPerSec', 'getppid/s'],
];
const tables = workloads.map(([key, label]) => ({
  label,
  rows: Object.entries(samples).map(([mode, ss]) => ({
    mode,
    ...columns(ss, key, label),
    'opens tracked': mode === 'none' ? '' : ss.map((s) => s.tracked).join(','),
  })),
}));
console.log('machine:', JSON.stringify(machine()));
console.log(
  `io tracking cost: ${N} reads + ${N} writes of 4 KiB, ${N / 8} reads of 64 KiB, ${N} getppid, ${(N * 2048) / 2 ** 30} GiB of a cached 64 MiB file in 128 KiB reads, ${N / 4} random 4 KiB preads of it, per run; ${ROUNDS} rounds, medians`,
);
for (const t of tables) printTable(t.label, t.rows);
writeResult('io-track', { n: N, rounds: ROUNDS, tables, samples });
