// `npm run bench`: every benchmark in turn. Each prints a table and writes bench/results/*.json.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { benchDir, machine } from './lib.mjs';

console.log('machine:', JSON.stringify(machine()));
const scripts = [
  ['replay.mjs'],
  ['policy.mjs'],
  ['outputs.mjs'],
  ['storm.mjs'],
  ['latency.mjs', { BENCH_BACKEND: 'ebpf' }],
  ['latency.mjs', { BENCH_BACKEND: 'fanotify' }],
  ['latency.mjs', { BENCH_BACKEND: 'audit' }],
  ['enrich.mjs'],
  ['io-track.mjs'],
  ['io-track-fanotify.mjs'],
];
let failed = 0;
for (const [script, env] of scripts) {
  console.log(`\n=== ${script} ${env ? JSON.stringify(env) : ''}`);
  try {
    execFileSync(process.execPath, [join(benchDir, script)], {
      stdio: 'inherit',
      env: { ...process.env, ...env },
    });
  } catch {
    failed++;
    console.error(`${script} failed`);
  }
}
process.exit(failed ? 1 : 0);
