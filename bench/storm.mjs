// Procfs open storm: what the sensor costs the host. A C loop opens and closes /proc/self/stat
// OPENS times with no watcher, under the baseline C fanotify reader, and under procmem-guard
// (fanotify, and audit where it starts); modes interleaved, repeated ROUNDS times, medians.
// Also samples the watcher's RSS at idle and after every storm (memory growth).
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  benchDir,
  buildC,
  median,
  printTable,
  rssKb,
  runJson,
  spawnReady,
  spread,
  stopAndCollect,
  writeResult,
} from './lib.mjs';

const OPENS = Number(process.env.BENCH_OPENS ?? 300_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const storm = buildC('open_storm');
const baseline = buildC('baseline_reader');
const watcherChild = join(benchDir, 'watcher-child.mjs');

const modes = {
  none: null,
  baseline: () => spawnReady(baseline, []),
  'procmem-guard fanotify': () => spawnReady(process.execPath, [watcherChild, 'fanotify']),
  'procmem-guard audit': () => spawnReady(process.execPath, [watcherChild, 'audit']),
};

const samples = Object.fromEntries(Object.keys(modes).map((m) => [m, []]));
const unavailable = {};
for (let round = 0; round < ROUNDS; round++) {
  const order = Object.keys(modes);
  // Rotate the order each round so no mode always runs first (cache, CPU frequency).
  for (let i = 0; i < round % order.length; i++) order.push(order.shift());
  for (const mode of order) {
    if (unavailable[mode]) continue;
    let handle = null;
    if (modes[mode]) {
      try {
        handle = await modes[mode]();
      } catch (err) {
        unavailable[mode] = err.message;
        console.error(`${mode}: unavailable: ${err.message}`);
        continue;
      }
    }
    const idleRss = handle ? rssKb(handle.child.pid) : null;
    const r = runJson(storm, [String(OPENS)]);
    await sleep(300); // let the reader drain what is queued before it is stopped
    const afterRss = handle ? rssKb(handle.child.pid) : null;
    const result = handle ? await stopAndCollect(handle) : null;
    samples[mode].push({ ...r, idleRss, afterRss, result });
  }
}

const noneRate = median(samples.none.map((s) => s.opensPerSec));
const rows = [];
for (const [mode, ss] of Object.entries(samples)) {
  if (ss.length === 0) {
    rows.push({
      mode,
      'opens/s': 'n/a',
      spread: '',
      slowdown: '',
      'events/s': '',
      overflows: '',
      'ring lost': '',
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
    (a, s) => a + (s.result?.overflows ?? s.result?.stats?.lost?.kernel_overflow ?? 0),
    0,
  );
  const ringLost = ss.reduce((a, s) => a + (s.result?.stats?.lost?.ring_full ?? 0), 0);
  rows.push({
    mode,
    'opens/s': Math.round(median(rates)),
    spread: `${(spread(rates) * 100).toFixed(1)}%`,
    slowdown: `${(noneRate / median(rates)).toFixed(3)}x`,
    'events/s': mode === 'none' ? '' : Math.round(median(events)),
    overflows: mode === 'none' ? '' : overflows,
    'ring lost': mode.startsWith('procmem') ? ringLost : '',
    note: '',
  });
}
const baseRate = median(samples.baseline.map((s) => s.opensPerSec));
const pmgRate = samples['procmem-guard fanotify'].length
  ? median(samples['procmem-guard fanotify'].map((s) => s.opensPerSec))
  : NaN;
printTable(`Procfs open storm: ${OPENS} opens of /proc/self/stat, ${ROUNDS} rounds, medians`, rows);
console.log(
  `procmem-guard fanotify slowdown relative to the baseline reader: ${(baseRate / pmgRate).toFixed(3)}x (goal <= 1.05x)`,
);

const mem = samples['procmem-guard fanotify'].map((s) => ({
  idleRssKb: s.idleRss,
  afterStormRssKb: s.afterRss,
}));
if (mem.length) {
  printTable('procmem-guard (fanotify) RSS per round, kB', mem);
}
writeResult('storm', {
  opens: OPENS,
  rounds: ROUNDS,
  rows,
  relativeToBaseline: baseRate / pmgRate,
  samples,
  unavailable,
});
