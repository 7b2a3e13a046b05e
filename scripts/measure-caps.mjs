#!/usr/bin/env node
// Measures the capability set each backend needs for complete capture, as a non-root uid:
// runs `procmem-guard watch --backend B` under setpriv (uid 65534, no groups, the candidate
// set as inheritable, ambient and bounding set), then as root reads another user's process
// (a root `sleep`) and a process in another pid and mount namespace (unshare --fork --pid
// --mount-proc), and checks both findings arrive with no loss and no warning. Starting from a
// superset, it drops each capability in turn and keeps it only if capture is incomplete
// without it. Run as root, under `flock /tmp/pmg-kernel.lock`.
//
//   node scripts/measure-caps.mjs [fanotify|audit ...]

import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const SUPERSET = [
  'sys_admin',
  'bpf',
  'perfmon',
  'sys_ptrace',
  'dac_read_search',
  'dac_override',
  'net_admin',
  'audit_control',
  'audit_read',
  'sys_nice',
  'fowner',
  'chown',
];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** One trial: does watch, holding `caps` as uid 65534, see both reads completely? */
export async function trial(backend, caps) {
  const list = caps.map((c) => `+${c}`).join(',') || '-all';
  const args = [
    '--reuid=65534',
    '--regid=65534',
    '--clear-groups',
    `--inh-caps=-all${caps.length ? `,${list}` : ''}`,
    `--ambient-caps=-all${caps.length ? `,${list}` : ''}`,
    `--bounding-set=-all${caps.length ? `,${list}` : ''}`,
    process.execPath,
    cli,
    'watch',
    '--backend',
    backend,
    '--metrics',
    '127.0.0.1:19465',
  ];
  const watch = spawn('/usr/bin/setpriv', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  watch.stdout.on('data', (d) => {
    out += d;
  });
  watch.stderr.on('data', (d) => {
    err += d;
  });
  const exited = new Promise((r) => watch.on('exit', (code) => r(code)));
  const target = spawn('sleep', ['60'], { stdio: 'ignore' });
  const nsTarget = spawn('unshare', ['--fork', '--pid', '--mount-proc', 'sleep', '60'], {
    stdio: 'ignore',
  });
  try {
    for (let i = 0; i < 200 && !err.includes('watching with'); i++) {
      if (watch.exitCode !== null) break;
      await sleep(50);
    }
    if (!err.includes('watching with')) return { ok: false, why: `did not start: ${err.trim()}` };
    await sleep(300);
    const dd = spawnSync('dd', [`if=/proc/${target.pid}/mem`, 'of=/dev/null', 'bs=1', 'count=0']);
    // The namespaced sleep: read through its own procfs (pid 1 there) from inside.
    const inner = spawnSync('pgrep', ['-P', String(nsTarget.pid)])
      .stdout.toString()
      .trim();
    const ddNs = spawnSync('nsenter', [
      '-t',
      inner,
      '-p',
      '-m',
      'dd',
      'if=/proc/1/mem',
      'of=/dev/null',
      'bs=1',
      'count=0',
    ]);
    if (dd.status !== 0 || ddNs.status !== 0) return { ok: false, why: 'dd failed' };
    for (let i = 0; i < 60 && out.split('\n').filter((l) => l.includes('TRC-1023')).length < 2; i++)
      await sleep(50);
    const metrics = await (await fetch('http://127.0.0.1:19465/metrics')).text();
    const native = (name) =>
      Number(
        new RegExp(`^procmem_guard_native\\{name="${name}"\\} (\\S+)`, 'm').exec(metrics)?.[1],
      );
    watch.kill('SIGINT');
    await exited;
    const table = [];
    if (native('table_connector_verified') !== 1) table.push('proc connector not verified');
    if (native('table_taskstats_enabled') !== 1) table.push('taskstats off');
    if (native('table_proc_read_errors') > 0)
      table.push(`proc read errors ${native('table_proc_read_errors')}`);
    const named = out
      .split('\n')
      .filter((l) => l.includes('TRC-1023') && l.includes('"processName":"dd"')).length;
    const findings = out.split('\n').filter((l) => l.includes('TRC-1023')).length;
    const lost = /lost (\d+)/.exec(err.split('\n').find((l) => l.includes('stopped on')) ?? '');
    const warnings = err
      .split('\n')
      .filter((l) => l && !l.includes('watching with') && !l.includes('stopped on'));
    const ok =
      findings >= 2 &&
      named >= 2 &&
      lost?.[1] === '0' &&
      warnings.length === 0 &&
      table.length === 0;
    return {
      ok,
      why: ok
        ? ''
        : `findings ${findings} (named dd ${named}), lost ${lost?.[1]}, ${[...table, ...warnings].join(' | ')}`,
    };
  } finally {
    watch.kill('SIGKILL');
    target.kill();
    nsTarget.kill();
  }
}

async function measure(backend) {
  const full = await trial(backend, SUPERSET);
  if (!full.ok) {
    console.log(`${backend}: incomplete even with ${SUPERSET.join(',')}: ${full.why}`);
    return;
  }
  let set = [...SUPERSET];
  for (const cap of SUPERSET) {
    const without = set.filter((c) => c !== cap);
    const r = await trial(backend, without);
    console.log(`${backend}: without ${cap}: ${r.ok ? 'complete' : `INCOMPLETE (${r.why})`}`);
    if (r.ok) set = without;
  }
  const check = await trial(backend, set);
  console.log(
    `${backend}: needs ${set.map((c) => `CAP_${c.toUpperCase()}`).join(' ')} (rerun: ${check.ok ? 'complete' : check.why})`,
  );
}

const backends = process.argv.slice(2);
for (const b of backends.length ? backends : ['fanotify', 'audit']) await measure(b);
