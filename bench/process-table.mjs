#!/usr/bin/env node
// Measures the process table on the real kernel (root): how often an opener that exec'd,
// opened, closed and exited at once is still attributed, with and without TASKSTATS, idle and
// under CPU load; what a lookup costs; whether a fork storm overflows the connector.
// Usage: node bench/process-table.mjs [runs]
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { createInterface } from 'node:readline';
import { buildC } from './lib.mjs';

// The test-only addon (binding.gyp target procmem_guard_test; npm run build:native builds it).
const T = createRequire(import.meta.url)('../build/Release/procmem_guard_test.node');
const runs = Number(process.argv[2] ?? 2000);
const kOpenerExited = 1 << 3;
const kAttributionMissing = 1 << 4;

const ownPidNs = statSync('/proc/self/ns/pid').ino;
const ownMntNs = statSync('/proc/self/ns/mnt').ino;
const src = new URL('../test/native/fixtures/fast-exit.c', import.meta.url).pathname;
const forker = buildC('pmgforker', src);
const quick = buildC('pmgquick', src);

// Attribute each pid as soon as its line arrives, like a capture thread reading an event.
async function fastExit(table, n) {
  const child = spawn(forker, [quick, String(n)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const res = { n: 0, named: 0, exe: 0, ns: 0, exited: 0, missing: 0, wrongName: {}, us: [] };
  for await (const line of createInterface({ input: child.stdout })) {
    const pid = Number(line);
    const t0 = process.hrtime.bigint();
    const r = table.attribute(pid);
    res.us.push(Number(process.hrtime.bigint() - t0) / 1000);
    res.n++;
    if (r.recordFlags & kAttributionMissing) res.missing++;
    if (r.recordFlags & kOpenerExited) res.exited++;
    if (r.comm === 'pmgquick') res.named++;
    else res.wrongName[r.comm] = (res.wrongName[r.comm] ?? 0) + 1;
    if (r.exe === quick) res.exe++;
    if (r.pidNs === ownPidNs && r.mntNs === ownMntNs && r.cgroupId > 0n) res.ns++;
  }
  res.us.sort((a, b) => a - b);
  const p = (q) => res.us[Math.min(res.us.length - 1, Math.floor(q * res.us.length))].toFixed(1);
  return `named ${res.named}/${res.n}, exe ${res.exe}/${res.n}, ns+cgroup ${res.ns}/${res.n}, exited-flag ${res.exited}, missing ${res.missing}, wrong names ${JSON.stringify(res.wrongName)}, attribute() us p50 ${p(0.5)} p99 ${p(0.99)} max ${p(1)}`;
}

function burn() {
  return cpus().map(() => spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' }));
}

const out = [];
for (const load of [false, true]) {
  for (const taskstats of [true, false]) {
    const burners = load ? burn() : [];
    const table = new T.Handle({ taskstats });
    table.start();
    const r = await fastExit(table, runs);
    const s = table.stats();
    table.stop();
    for (const b of burners) b.kill('SIGKILL');
    out.push(
      `fast exec+open+exit x${runs} taskstats=${taskstats} cpu-load=${load}: ${r}; syncs ${s.syncs} timeouts ${s.sync_timeouts} overflows ${s.connector_overflows}`,
    );
    console.log(out.at(-1));
  }
}

// The same inside a new pid namespace: the openers print their ns pid; count how many the
// table translates back to a host pid (needs a read of the child before it was reaped).
async function fastExitInPidNs(table, n) {
  const u = spawn(
    'unshare',
    ['--fork', '--pid', '--mount-proc', 'sh', '-c', `${forker} ${quick} ${n}; sleep 2`],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const nsPids = [];
  for await (const line of createInterface({ input: u.stdout })) {
    nsPids.push(Number(line));
    if (nsPids.length === n) break;
  }
  const sh = Number(
    readFileSync(`/proc/${u.pid}/task/${u.pid}/children`, 'utf8').trim().split(/\s+/)[0],
  );
  const pidNs = statSync(`/proc/${sh}/ns/pid`).ino;
  let translated = 0;
  let named = 0;
  for (const nsPid of nsPids) {
    const host = table.hostPidOf(pidNs, nsPid);
    if (host === 0) continue;
    translated++;
    if (table.attribute(host).comm === 'pmgquick') named++;
  }
  u.kill('SIGKILL');
  return `translated ${translated}/${n}, of those named ${named}`;
}
for (const load of [false, true]) {
  const burners = load ? burn() : [];
  const table = new T.Handle();
  table.start();
  console.log(
    `fast exec+open+exit in a pid namespace x${Math.min(runs, 500)} cpu-load=${load}: ${await fastExitInPidNs(table, Math.min(runs, 500))}`,
  );
  table.stop();
  for (const b of burners) b.kill('SIGKILL');
}

// The same during a fork storm from another process (the table thread falls behind).
{
  const table = new T.Handle();
  table.start();
  const storm = spawn(forker, ['noexec', '40000'], { stdio: 'ignore' });
  const r = await fastExit(table, Math.min(runs, 500));
  storm.kill('SIGKILL');
  const s = table.stats();
  console.log(
    `fast exec+open+exit x${Math.min(runs, 500)} during a fork storm: ${r}; syncs ${s.syncs} timeouts ${s.sync_timeouts} overflows ${s.connector_overflows}`,
  );
  table.stop();
}

// Cost of a start (scan of /proc) and of lookups.
{
  const table = new T.Handle();
  let t0 = process.hrtime.bigint();
  table.start();
  const startMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const st = table.stats();
  t0 = process.hrtime.bigint();
  const N = 20000;
  for (let i = 0; i < N; i++) table.lookup(process.pid);
  const hitUs = Number(process.hrtime.bigint() - t0) / 1000 / N;
  console.log(
    `start (scan of ${st.entries} tasks, ${st.proc_reads} reads): ${startMs.toFixed(1)} ms = ${((startMs * 1000) / st.proc_reads).toFixed(1)} us/task read; lookup hit ${hitUs.toFixed(2)} us`,
  );
  // Fork storm without exec: does the connector keep up?
  t0 = process.hrtime.bigint();
  execFileSync(forker, ['noexec', '20000']);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  await new Promise((r) => setTimeout(r, 500));
  const s = table.stats();
  console.log(
    `fork storm 20000 forks in ${secs.toFixed(2)} s (${(20000 / secs).toFixed(0)}/s): connector_events ${s.connector_events}, overflows ${s.connector_overflows}, rescans ${s.rescans}, entries ${s.entries}, exited ${s.exited_entries}, taskstats overflows ${s.taskstats_overflows}`,
  );
  table.stop();
}
