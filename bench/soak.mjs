#!/usr/bin/env node
// `npm run soak -- --minutes N [--backend B]`: a long run of `watch` under what issue 12 throws
// at a sensor, failing on growth or on a missed read. Each interval (--interval, 10 s):
//   1. a procfs open storm (bench/c/open_storm.c, --storm-opens /proc/self/stat opens);
//   2. --reads mem reads of a live process, each by a fresh process, each of which must come
//      out of watch's stdout as a finding within 10 s;
//   3. every --flood-every intervals, the unprivileged flood of bench/user-flood.mjs with a
//      root read 500 ms in, which must be reported within 10 s (its latency is printed);
//   4. a logrotate-style rename of watch's file output and SIGHUP (watch reloads its --config
//      and re-opens files), which watch must acknowledge within 5 s;
//   5. --cycles start/stop cycles of a ProcMemWatcher in another process
//      (bench/start-stop-child.mjs; on fanotify when watch runs audit, which admits one
//      watcher at a time);
// then watch's and the cycling process's RSS, fds and threads are sampled and one row of the
// series printed. At the end watch gets SIGTERM and must exit 0 with its summary; on audit no
// rule of ours may be left. Growth: after the first --warmup samples, fds and threads must stay
// within the first half's maximum (+2), the median RSS of the last third must stay within 4 MB
// or 10 % of the first third's (judged from 30 samples on; see growth()), and watch's RSS must
// stay under --max-rss-mb (96, issue 12's bound under the flood). Root only; on a shared host run it under
// `flock /tmp/pmg-kernel.lock`. Prints the series and writes bench/results/soak-<backend>.json.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { loadNative } from '../dist/native.js';
import { benchDir, buildC, median, rssKb, writeResult } from './lib.mjs';
import { startUserFlood } from './user-flood.mjs';

const OPTIONS = {
  minutes: '30',
  backend: 'auto',
  interval: '10',
  reads: '5',
  'flood-every': '3',
  cycles: '5',
  'storm-opens': '100000',
  warmup: '2',
  'max-rss-mb': '96',
};
const { values } = parseArgs({
  options: Object.fromEntries(
    Object.entries(OPTIONS).map(([k, v]) => [k, { type: 'string', default: v }]),
  ),
});
const num = (name) => {
  const v = Number(values[name]);
  if (!Number.isFinite(v) || v <= 0) {
    console.error(`soak: --${name} must be a positive number, not "${values[name]}"`);
    process.exit(2);
  }
  return v;
};
const minutes = num('minutes');
const intervalMs = num('interval') * 1000;
const reads = num('reads');
const floodEvery = num('flood-every');
const cycles = num('cycles');
const stormOpens = num('storm-opens');
const warmup = num('warmup');
const maxRssMb = num('max-rss-mb');
const backend = values.backend;
const cycleBackend = backend === 'audit' ? 'fanotify' : backend;
const READ_WAIT_MS = 10_000;
const RSS_MIN_SAMPLES = 30; // 5 minutes of 10 s intervals after warm-up: see growth()
let rssUnjudged = false;

const storm = buildC('open_storm');
const openMem = buildC('open_mem', new URL('../test/helpers/open_mem.c', import.meta.url).pathname);
const cli = new URL('../dist/cli/main.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'pmg-soak-'));
const outFile = join(dir, 'findings.jsonl');
const config = join(dir, 'config.yaml');
writeFileSync(
  config,
  `backend: ${backend}\nformat: json\noutputs:\n  - stdout\n  - file:${outFile}\n`,
);

const exited = (child) =>
  new Promise((r) =>
    child.exitCode !== null || child.signalCode !== null ? r(child.exitCode) : child.on('exit', r),
  );

/** A process's RSS (MB), open fds and threads, from /proc. */
function sample(pid) {
  const threads = Number(/^Threads:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
  return { rssMb: rssKb(pid) / 1024, fds: readdirSync(`/proc/${pid}/fd`).length, threads };
}

// --- watch, its findings (by opener pid) and its stderr
const watch = spawn(process.execPath, [cli, 'watch', '--config', config], {
  stdio: ['ignore', 'pipe', 'pipe'],
});
const waiting = new Map(); // opener pid -> called when its finding arrives
let findings = 0;
let partial = '';
watch.stdout.setEncoding('utf8');
watch.stdout.on('data', (d) => {
  const lines = (partial + d).split('\n');
  partial = lines.pop();
  for (const line of lines) {
    findings++;
    const pid = Number(/"hostProcessId":(\d+)/.exec(line)?.[1]);
    waiting.get(pid)?.();
  }
});
let stderr = '';
watch.stderr.setEncoding('utf8');
watch.stderr.on('data', (d) => {
  stderr += d;
});
const count = (re) => (stderr.match(re) ?? []).length;

/** Polls `test` every 20 ms; fails after `ms`, or at once if `child` (default: watch) exited. */
async function until(what, test, ms, child = watch) {
  const end = Date.now() + ms;
  while (!test()) {
    if (Date.now() > end || child.exitCode !== null)
      throw new Error(
        `${what}: not within ${ms} ms${child.exitCode !== null ? ` (${child === watch ? 'watch' : 'its process'} exited)` : ''}`,
      );
    await sleep(20);
  }
}

/** Spawns an opener of /proc/<victim>/mem; resolves with ms from spawn to finding, or null. */
async function memRead(victim) {
  const child = spawn(openMem, [`/proc/${victim}/mem`, 'r', '0'], { stdio: 'ignore' });
  const t0 = performance.now();
  const reported = new Promise((resolve) => {
    const timer = setTimeout(() => {
      waiting.delete(child.pid);
      resolve(null);
    }, READ_WAIT_MS);
    waiting.set(child.pid, () => {
      clearTimeout(timer);
      waiting.delete(child.pid);
      resolve(performance.now() - t0);
    });
  });
  if ((await exited(child)) !== 0) throw new Error(`open_mem of /proc/${victim}/mem failed`);
  return reported;
}

// --- the start/stop cycling process
const cycler = spawn(process.execPath, [join(benchDir, 'start-stop-child.mjs'), cycleBackend], {
  stdio: ['pipe', 'pipe', 'inherit'],
});
let cyclerOut = '';
cycler.stdout.setEncoding('utf8');
cycler.stdout.on('data', (d) => {
  cyclerOut += d;
});

const victim = spawn('sleep', ['86400'], { stdio: 'ignore' });
const problems = [];
const series = [];
let stopRequested = false;
process.on('SIGINT', () => {
  stopRequested = true;
});

const fmt = (x, d = 1) => (x === null || x === undefined ? '-' : Number(x).toFixed(d));
const header =
  '    t  watch rssMB fds thr | cycler rssMB fds thr | reads ok/n  max ms | flood read ms | lost findings reloads';
try {
  await until('watch to start', () => stderr.includes('watching with'), 30_000);
  console.log(
    `soak: ${minutes} min, ${stderr.match(/watching with [^;\n]*/)?.[0]}; start/stop cycles on ${cycleBackend}`,
  );
  console.log(header);
  const t0 = Date.now();
  for (let i = 0; Date.now() - t0 < minutes * 60_000 && !stopRequested; i++) {
    const intervalStart = Date.now();
    // 1. storm
    if ((await exited(spawn(storm, [String(stormOpens)], { stdio: 'ignore' }))) !== 0)
      throw new Error('open_storm failed');
    // 2. reads, one at a time
    const latencies = [];
    for (let r = 0; r < reads; r++) latencies.push(await memRead(victim.pid));
    const missed = latencies.filter((l) => l === null).length;
    if (missed) problems.push(`interval ${i + 1}: ${missed} of ${reads} mem reads not reported`);
    // 3. flood with a root read in it
    let floodRead;
    if ((i + 1) % floodEvery === 0) {
      const flood = startUserFlood();
      await sleep(500);
      floodRead = await memRead(victim.pid);
      await flood.done;
      flood.end();
      if (floodRead === null)
        problems.push(`interval ${i + 1}: the read during the flood was not reported`);
    }
    // 4. logrotate and SIGHUP
    const reloads = count(/SIGHUP: configuration reloaded/g);
    rmSync(`${outFile}.1`, { force: true });
    renameSync(outFile, `${outFile}.1`);
    watch.kill('SIGHUP');
    await until(
      'the SIGHUP reload',
      () => count(/SIGHUP: configuration reloaded/g) > reloads,
      5000,
    );
    // 5. start/stop cycles elsewhere
    const before = (cyclerOut.match(/^done /gm) ?? []).length;
    cycler.stdin.write(`${cycles}\n`);
    await until(
      `${cycles} start/stop cycles on ${cycleBackend}`,
      () => (cyclerOut.match(/^done /gm) ?? []).length > before,
      60_000,
      cycler,
    );
    // sample
    const w = sample(watch.pid);
    const c = sample(cycler.pid);
    const lost = [...stderr.matchAll(/lost (\d+) event\(s\)/g)].reduce(
      (a, m) => a + Number(m[1]),
      0,
    );
    const ok = latencies.filter((l) => l !== null);
    const row = {
      t: Math.round((Date.now() - t0) / 1000),
      watch: w,
      cycler: c,
      readsOk: ok.length,
      reads,
      readMaxMs: ok.length ? Math.max(...ok) : null,
      floodReadMs: floodRead,
      lost,
      findings,
      reloads: count(/SIGHUP: configuration reloaded/g),
    };
    series.push(row);
    console.log(
      `${String(row.t).padStart(5)}  ${fmt(w.rssMb).padStart(11)} ${String(w.fds).padStart(3)} ${String(w.threads).padStart(3)} | ` +
        `${fmt(c.rssMb).padStart(12)} ${String(c.fds).padStart(3)} ${String(c.threads).padStart(3)} | ` +
        `${`${row.readsOk}/${reads}`.padStart(10)} ${fmt(row.readMaxMs, 0).padStart(7)} | ` +
        `${(floodRead === undefined ? '' : fmt(floodRead, 0)).padStart(13)} | ` +
        `${String(lost).padStart(4)} ${String(findings).padStart(8)} ${String(row.reloads).padStart(7)}`,
    );
    const rest = intervalMs - (Date.now() - intervalStart);
    if (rest > 0) await sleep(rest);
  }

  for (const [who, pick] of [
    ['watch', (r) => r.watch],
    ['start/stop process', (r) => r.cycler],
  ]) {
    problems.push(...growth(series.map(pick), who));
  }
  const peak = Math.max(...series.map((r) => r.watch.rssMb));
  if (peak > maxRssMb) problems.push(`watch RSS reached ${peak.toFixed(1)} MB (bound ${maxRssMb})`);

  watch.kill('SIGTERM');
  const code = await Promise.race([exited(watch), sleep(30_000).then(() => 'timeout')]);
  if (code !== 0) problems.push(`watch exited ${code} after SIGTERM`);
  const summary = /stopped on SIGTERM.*/.exec(stderr)?.[0];
  if (!summary) problems.push('watch printed no summary');
  else console.log(`watch: ${summary}`);
  if (backend === 'audit') {
    const left = loadNative()
      .auditListRules()
      .filter((r) => r.key === 'procmem-guard').length;
    if (left) problems.push(`${left} audit rule(s) of ours left after watch exited`);
  }
} catch (err) {
  problems.push(err.message);
} finally {
  watch.kill('SIGKILL');
  cycler.stdin.end();
  await Promise.race([exited(cycler), sleep(10_000)]);
  cycler.kill('SIGKILL');
  victim.kill();
  rmSync(dir, { recursive: true, force: true });
}

/**
 * What in `samples` (after warm-up) looks like growth without bound: fds or threads above the
 * first half's maximum (+2), or an RSS whose median over the last third is above the first
 * third's by more than 4 MB or 10 % (a leak of 0.3 MB a minute shows in a 30-minute run; a
 * flood's passing peak does not). RSS is judged from RSS_MIN_SAMPLES samples on: watch's RSS
 * rises and falls with V8's major collections over about three minutes under the floods
 * (63 to 79 MB and back in an 8-minute run), which a shorter series cannot tell from growth.
 */
function growth(samples, who) {
  const s = samples.slice(warmup);
  if (s.length < 3) return [];
  const out = [];
  const half = Math.ceil(s.length / 2);
  for (const [key, slack] of [
    ['fds', 2],
    ['threads', 2],
  ]) {
    const first = Math.max(...s.slice(0, half).map((x) => x[key]));
    const last = Math.max(...s.slice(half).map((x) => x[key]));
    if (last > first + slack) out.push(`${who} ${key} grew from at most ${first} to ${last}`);
  }
  if (s.length < RSS_MIN_SAMPLES) {
    console.log(`${who}: RSS growth not judged, ${s.length} samples (${RSS_MIN_SAMPLES} needed)`);
    rssUnjudged = true;
    return out;
  }
  const third = Math.max(1, Math.floor(s.length / 3));
  const first = median(s.slice(0, third).map((x) => x.rssMb));
  const last = median(s.slice(-third).map((x) => x.rssMb));
  const tolerance = Math.max(4, first * 0.1);
  if (last > first + tolerance)
    out.push(
      `${who} RSS grew: median ${first.toFixed(1)} MB over the first third, ${last.toFixed(1)} MB over the last (tolerance ${tolerance.toFixed(1)} MB)`,
    );
  return out;
}

writeResult(`soak-${backend}`, { minutes, backend, cycleBackend, series, problems });
if (problems.length) {
  console.log(`soak FAILED:\n  ${problems.join('\n  ')}`);
  process.exitCode = 1;
} else {
  console.log(
    `soak passed: ${series.length} intervals, every read reported, fds and threads bounded, ` +
      (rssUnjudged ? `RSS under ${maxRssMb} MB (too short to judge its trend)` : 'RSS bounded'),
  );
}
