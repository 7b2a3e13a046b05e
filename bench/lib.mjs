// Shared helpers for the benchmarks: building the C programs, statistics, the machine's name,
// tables and result files. Benchmarks measure; they never assert timings.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export const benchDir = dirname(fileURLToPath(import.meta.url));
export const binDir = join(benchDir, 'bin');
export const resultsDir = join(benchDir, 'results');

/**
 * Compiles bench/c/NAME.c (or `source`) to bench/bin/NAME, always, so edits are never stale.
 * One source under several names gives processes with different comms.
 */
export function buildC(name, source = join(benchDir, 'c', `${name}.c`), libs = []) {
  mkdirSync(binDir, { recursive: true });
  const out = join(binDir, name);
  execFileSync('cc', ['-O2', '-Wall', '-Wextra', '-o', out, source, ...libs], { stdio: 'inherit' });
  return out;
}

export function machine() {
  const release = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  const cpu = cpus();
  return {
    cpu: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release,
    node: process.version,
  };
}

/**
 * A deterministic generator (xorshift32) so that every run measures the same input:
 * `random()` in [0, 1) and `pick(items)`.
 */
export function seededRandom(seed) {
  let state = seed;
  const random = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x100000000;
  };
  return { random, pick: (items) => items[Math.floor(random() * items.length)] };
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Percentile by nearest rank, p in [0, 100]. */
export function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/** Spread as (max - min) / median, a fraction. */
export function spread(xs) {
  return (Math.max(...xs) - Math.min(...xs)) / median(xs);
}

/**
 * Runs `runOne(mode, round)` for every mode in every round, the order rotated each round so
 * that no mode always runs first (after a quiet spell) or last, with a short pause between
 * runs; returns each mode's results in round order. A run that returns undefined (its mode is
 * unavailable here) leaves no sample.
 */
export async function interleavedRounds(modes, rounds, runOne, pauseMs = 200) {
  const samples = Object.fromEntries(modes.map((m) => [m, []]));
  for (let round = 0; round < rounds; round++) {
    const order = [...modes];
    for (let i = 0; i < round % order.length; i++) order.push(order.shift());
    for (const mode of order) {
      const result = await runOne(mode, round);
      if (result === undefined) continue; // the mode is unavailable: no sample, no pause
      samples[mode].push(result);
      await sleep(pauseMs);
    }
  }
  return samples;
}

/** Spread as a percentage for tables: "3.2%". */
export function spreadText(xs) {
  return `${(spread(xs) * 100).toFixed(1)}%`;
}

/** A slowdown for tables, `base` over `value` (rates: >1x is slower): "1.042x". */
export function ratioText(base, value) {
  return `${(base / value).toFixed(3)}x`;
}

export function printTable(title, rows) {
  console.log(`\n${title}`);
  if (rows.length === 0) return;
  const cols = Object.keys(rows[0]);
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c]).length)));
  const line = (vals) => vals.map((v, i) => String(v).padStart(width[i])).join('  ');
  console.log(line(cols));
  for (const r of rows) console.log(line(cols.map((c) => r[c])));
}

/** Writes bench/results/<name>.json: the machine, the date and `data`. */
export function writeResult(name, data) {
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `${name}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ machine: machine(), date: new Date().toISOString(), ...data }, null, 2)}\n`,
  );
  console.log(`wrote ${file}`);
}

/** Spawns a program and resolves once it printed a line starting with `ready`. */
export function spawnReady(cmd, args, timeoutMs = 30_000) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} did not become ready within ${timeoutMs} ms`));
    }, timeoutMs);
    const onData = (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0 && out.startsWith('ready')) {
        clearTimeout(timer);
        child.stdout.off('data', onData);
        const rest = { text: out.slice(nl + 1) };
        child.stdout.on('data', (x) => {
          rest.text += x;
        });
        resolve({ child, readyLine: out.slice(0, nl), rest });
      }
    };
    child.stdout.on('data', onData);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${cmd} exited (${code}) before it was ready: ${out}`));
    });
  });
}

/**
 * Starts bench/watcher-child.mjs on `backend` with its `flags` (enforce, observe-io); resolves
 * once it is ready, having checked that it runs that backend. Stop it with stopAndCollect.
 */
export async function spawnWatcher(backend, flags = []) {
  const w = await spawnReady(process.execPath, [
    join(benchDir, 'watcher-child.mjs'),
    backend,
    ...flags,
  ]);
  if (!w.readyLine.includes(backend)) throw new Error(`watcher started ${w.readyLine}`);
  return w;
}

/** Sends SIGTERM and resolves with the last JSON line the program printed. */
export function stopAndCollect(handle) {
  return new Promise((resolve, reject) => {
    handle.child.removeAllListeners('exit');
    handle.child.on('exit', () => {
      const lines = handle.rest.text.trim().split('\n').filter(Boolean);
      try {
        resolve(JSON.parse(lines.at(-1) ?? 'null'));
      } catch {
        reject(new Error(`no JSON result from ${handle.child.spawnfile}: ${handle.rest.text}`));
      }
    });
    handle.child.kill('SIGTERM');
  });
}

export function rssKb(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : Number.NaN;
}

/** User + system CPU time of a process (all threads) in ms, from /proc/<pid>/stat. */
export function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
}
const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) on Linux x86-64

export function runJson(cmd, args) {
  return JSON.parse(execFileSync(cmd, args, { encoding: 'utf8' }).trim().split('\n').at(-1));
}
