// Procfs open storm: what the sensor costs the host. A C loop opens and closes /proc/self/stat
// OPENS times with no watcher, under the baseline C fanotify reader, under the eBPF floor
// (programs that do nothing at the eBPF backend's tracepoints: what any filter there costs at
// least) and under procmem-guard (ebpf, fanotify, and audit where they start); modes interleaved, repeated ROUNDS times,
// medians. In each mode a getppid() loop (CALLS syscalls, no procfs) runs after the storm: the
// cost a backend puts on every process of the host (eBPF runs at every syscall exit).
// Also samples the watcher's RSS at idle and after every storm (memory growth).

import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadNative } from '../dist/native.js';
import {
  benchDir,
  binDir,
  buildC,
  cpuMs,
  interleavedRounds,
  median,
  printTable,
  ratioText,
  rssKb,
  runJson,
  spawnReady,
  spreadText,
  stopAndCollect,
  writeResult,
} from './lib.mjs';

const OPENS = Number(process.env.BENCH_OPENS ?? 300_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CALLS = Number(process.env.BENCH_CALLS ?? 3_000_000);
const storm = buildC('open_storm');
const getppidLoop = buildC('getppid_loop');
const baseline = buildC('baseline_reader');
const watcherChild = join(benchDir, 'watcher-child.mjs');

// The eBPF floor: programs that do nothing at the eBPF backend's tracepoints (bench/bpf/
// floor.bpf.c), loaded by a small libbpf C loader. Needs clang and libbpf-dev, as the backend.
function bpfFloor() {
  try {
    const obj = join(binDir, 'floor.bpf.o');
    const triple = execFileSync('cc', ['-dumpmachine'], { encoding: 'utf8' }).trim();
    const src = join(benchDir, 'bpf', 'floor.bpf.c');
    execFileSync('clang', [
      '-O2',
      '-target',
      'bpf',
      '-I',
      `/usr/include/${triple}`,
      '-c',
      src,
      '-o',
      obj,
    ]);
    const loader = buildC('bpf_floor', undefined, ['-lbpf']);
    return () => spawnReady(loader, [obj]);
  } catch (err) {
    return () => Promise.reject(new Error(`cannot build the floor programs: ${err.message}`));
  }
}

const allModes = {
  none: null,
  baseline: () => spawnReady(baseline, []),
  'ebpf floor': bpfFloor(),
  'procmem-guard ebpf': () => spawnReady(process.execPath, [watcherChild, 'ebpf']),
  // Guard mode: the decision runs only for mem files, so a procfs storm should not see it.
  'procmem-guard ebpf enforce': () =>
    spawnReady(process.execPath, [watcherChild, 'ebpf', 'enforce']),
  'procmem-guard fanotify': () => spawnReady(process.execPath, [watcherChild, 'fanotify']),
  'procmem-guard audit': () => spawnReady(process.execPath, [watcherChild, 'audit']),
};
// BENCH_COMPARE=<other checkout> adds that checkout's fanotify watcher (its bench/
// watcher-child.mjs, built) to the same interleaved rounds: before/after figures of a change.
if (process.env.BENCH_COMPARE) {
  const other = join(process.env.BENCH_COMPARE, 'bench', 'watcher-child.mjs');
  allModes['compare fanotify'] = () => spawnReady(process.execPath, [other, 'fanotify']);
}
// BENCH_MODES=none,baseline,... runs a subset (none, baseline and the eBPF floor are always kept:
// the ratios are against them).
const wanted = process.env.BENCH_MODES?.split(',');
const modes = Object.fromEntries(
  Object.entries(allModes).filter(
    ([m]) =>
      !wanted ||
      m === 'none' ||
      m === 'baseline' ||
      m === 'ebpf floor' ||
      m.startsWith('compare') ||
      wanted.includes(m),
  ),
);

// The kernel's audit counters: time tasks spent waiting for audit backlog room (jiffies) and
// records it dropped. The audit backend must never make the storm's opener wait.
function auditCounters() {
  try {
    const st = loadNative().auditStatus();
    return { waited: st.backlogWaitTimeActual, lost: st.lost };
  } catch {
    return { waited: 0, lost: 0 };
  }
}

const unavailable = {};
const samples = await interleavedRounds(Object.keys(modes), ROUNDS, async (mode) => {
  if (unavailable[mode]) return undefined;
  let handle = null;
  if (modes[mode]) {
    try {
      handle = await modes[mode]();
    } catch (err) {
      unavailable[mode] = err.message;
      console.error(`${mode}: unavailable: ${err.message}`);
      return undefined;
    }
  }
  const idleRss = handle ? rssKb(handle.child.pid) : null;
  const cpuBefore = handle ? cpuMs(handle.child.pid) : null;
  const auditBefore = auditCounters();
  const r = runJson(storm, [String(OPENS)]);
  const g = runJson(getppidLoop, [String(CALLS)]);
  await sleep(300); // let the reader drain what is queued before it is stopped
  const auditAfter = auditCounters();
  const afterRss = handle ? rssKb(handle.child.pid) : null;
  const readerCpuMs = handle ? cpuMs(handle.child.pid) - cpuBefore : null;
  const result = handle ? await stopAndCollect(handle) : null;
  return {
    ...r,
    getppidPerSec: g.opensPerSec,
    idleRss,
    afterRss,
    readerCpuMs,
    result,
    hostWaitJiffies: auditAfter.waited - auditBefore.waited,
    auditDropped: auditAfter.lost - auditBefore.lost,
  };
});

const noneRate = median(samples.none.map((s) => s.opensPerSec));
const noneGetppid = median(samples.none.map((s) => s.getppidPerSec));
const rows = [];
for (const [mode, ss] of Object.entries(samples)) {
  if (ss.length === 0) {
    rows.push({
      mode,
      'opens/s': 'n/a',
      spread: '',
      slowdown: '',
      'getppid/s': '',
      'getppid spread': '',
      'getppid slowdown': '',
      'events/s': '',
      overflows: '',
      'ring lost': '',
      'reader CPU ms': '',
      'audit wait': '',
      'audit dropped': '',
      note: unavailable[mode] ?? '',
    });
    continue;
  }
  const rates = ss.map((s) => s.opensPerSec);
  const events = ss.map((s) => {
    const res = s.result;
    if (!res) return 0;
    const n = res.events ?? res.stats?.native?.events_read ?? res.stats?.eventsSeen ?? 0;
    return n / s.seconds;
  });
  const overflows = ss.reduce(
    (a, s) => a + (s.result?.overflows ?? s.result?.stats?.lost?.kernelOverflow ?? 0),
    0,
  );
  const ringLost = ss.reduce((a, s) => a + (s.result?.stats?.lost?.ringFull ?? 0), 0);
  rows.push({
    mode,
    'opens/s': Math.round(median(rates)),
    spread: spreadText(rates),
    slowdown: ratioText(noneRate, median(rates)),
    'getppid/s': Math.round(median(ss.map((s) => s.getppidPerSec))),
    'getppid spread': spreadText(ss.map((s) => s.getppidPerSec)),
    'getppid slowdown': ratioText(noneGetppid, median(ss.map((s) => s.getppidPerSec))),
    'events/s': mode === 'none' ? '' : Math.round(median(events)),
    overflows: mode === 'none' ? '' : overflows,
    'ring lost': mode.startsWith('procmem') ? ringLost : '',
    'reader CPU ms': mode === 'none' ? '' : Math.round(median(ss.map((s) => s.readerCpuMs))),
    // Summed over the rounds: kernel jiffies tasks waited for audit backlog room, records dropped.
    'audit wait': ss.reduce((a, s) => a + s.hostWaitJiffies, 0),
    'audit dropped': ss.reduce((a, s) => a + s.auditDropped, 0),
    note: '',
  });
}
const baseRate = median(samples.baseline.map((s) => s.opensPerSec));
const fanotifySamples = samples['procmem-guard fanotify'] ?? [];
const pmgRate = fanotifySamples.length ? median(fanotifySamples.map((s) => s.opensPerSec)) : NaN;
printTable(
  `Procfs open storm: ${OPENS} opens of /proc/self/stat, then ${CALLS} getppid() calls, ${ROUNDS} rounds, medians`,
  rows,
);
const ebpfSamples = samples['procmem-guard ebpf'] ?? [];
if (ebpfSamples.length) {
  const storm = noneRate / median(ebpfSamples.map((s) => s.opensPerSec));
  const calls = noneGetppid / median(ebpfSamples.map((s) => s.getppidPerSec));
  console.log(
    `procmem-guard ebpf slowdown relative to no watcher: procfs storm ${storm.toFixed(3)}x (goal <= 1.08x), getppid loop ${calls.toFixed(3)}x (goal <= 1.06x)`,
  );
  const floorSamples = samples['ebpf floor'] ?? [];
  if (floorSamples.length) {
    const floor = noneRate / median(floorSamples.map((s) => s.opensPerSec));
    console.log(
      `eBPF floor (programs that do nothing at the same tracepoints): procfs storm ${floor.toFixed(3)}x; the backend's filter adds ${(storm / floor).toFixed(3)}x on top`,
    );
  }
}
const enforceSamples = samples['procmem-guard ebpf enforce'] ?? [];
if (ebpfSamples.length && enforceSamples.length) {
  const rate = (ss, key) => median(ss.map((s) => s[key]));
  console.log(
    `guard mode (ebpf --enforce) relative to ebpf without it: procfs storm ${(rate(ebpfSamples, 'opensPerSec') / rate(enforceSamples, 'opensPerSec')).toFixed(3)}x, getppid loop ${(rate(ebpfSamples, 'getppidPerSec') / rate(enforceSamples, 'getppidPerSec')).toFixed(3)}x`,
  );
}
if (fanotifySamples.length)
  console.log(
    `procmem-guard fanotify slowdown relative to the baseline reader: ${(baseRate / pmgRate).toFixed(3)}x (goal <= 1.05x)`,
  );

const mem = fanotifySamples.map((s, i) => ({
  round: i + 1,
  idleRssKb: s.idleRss,
  afterStormRssKb: s.afterRss,
  auditIdleRssKb: samples['procmem-guard audit']?.[i]?.idleRss ?? '',
  auditAfterStormRssKb: samples['procmem-guard audit']?.[i]?.afterRss ?? '',
}));
if (mem.length) {
  printTable('watcher RSS per round (idle before the storm, after it), kB', mem);
  const after = mem.map((m) => m.afterStormRssKb);
  console.log(
    `fanotify watcher RSS: max ${Math.max(...after)} kB (goal <= 65536), growth first -> last round ${after.at(-1) - after[0]} kB`,
  );
}
// Memory across repeated storms: one watcher, MEMORY_STORMS storms in a row, RSS after each
// (fanotify: the backend whose user space sees every procfs open). Skipped (0) by
// BENCH_MEMORY_STORMS=0 or when BENCH_MODES leaves fanotify out.
const MEMORY_STORMS = modes['procmem-guard fanotify']
  ? Number(process.env.BENCH_MEMORY_STORMS ?? 10)
  : 0;
const longLived = MEMORY_STORMS > 0 ? await modes['procmem-guard fanotify']() : null;
const memoryRounds = [];
if (longLived) {
  memoryRounds.push({ storm: 0, rssKb: rssKb(longLived.child.pid) });
  for (let i = 1; i <= MEMORY_STORMS; i++) {
    runJson(storm, [String(OPENS)]);
    await sleep(200);
    memoryRounds.push({ storm: i, rssKb: rssKb(longLived.child.pid) });
  }
  const longResult = await stopAndCollect(longLived);
  const rssAfter = memoryRounds.slice(1).map((m) => m.rssKb);
  console.log(
    `one fanotify watcher through ${MEMORY_STORMS} storms: RSS idle ${memoryRounds[0].rssKb} kB, ` +
      `after storms min ${Math.min(...rssAfter)} max ${Math.max(...rssAfter)} kB, ` +
      `growth from storm 1 to ${MEMORY_STORMS}: ${rssAfter.at(-1) - rssAfter[0]} kB; ` +
      `kernel events ${longResult.stats.eventsSeen}, lost ${longResult.stats.lost.total}`,
  );
}

writeResult('storm', {
  memoryRounds,
  opens: OPENS,
  rounds: ROUNDS,
  rows,
  relativeToBaseline: baseRate / pmgRate,
  samples,
  unavailable,
});
