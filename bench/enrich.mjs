// Target enrichment per record (native/proc/target_info.h): one call of enrichTarget() against
// a live process table, for a target that is unrelated to the opener, its child (ancestor),
// its parent (descendant) and itself, beside the opener attribution every record already pays
// (ProcessTable::attribute). A C++ program built from native/ sources, run as root; ROUNDS
// runs, medians. Usage: node bench/enrich.mjs (BENCH_ENRICH_CALLS, BENCH_ENRICH_ROUNDS)
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { benchDir, binDir, median, printTable, writeResult } from './lib.mjs';

const CALLS = Number(process.env.BENCH_ENRICH_CALLS ?? 2000);
const ROUNDS = Number(process.env.BENCH_ENRICH_ROUNDS ?? 5);
const root = join(benchDir, '..');
const native = (...files) => files.map((f) => join(root, 'native', f));

mkdirSync(binDir, { recursive: true });
const bin = join(binDir, 'target_enrich');
execFileSync(
  'c++',
  [
    '-std=c++17',
    '-O2',
    '-Wall',
    '-Wextra',
    `-I${join(root, 'native')}`,
    '-o',
    bin,
    join(benchDir, 'cxx', 'target_enrich.cc'),
    ...native(
      'proc/process_table.cc',
      'proc/table_feed.cc',
      'proc/table_lookup.cc',
      'proc/table_store.cc',
      'proc/procfs.cc',
      'proc/netlink.cc',
      'proc/container_id.cc',
      'proc/target_info.cc',
      'proc/target_relation.cc',
      'util/proc_files.cc',
    ),
    '-lpthread',
  ],
  { stdio: 'inherit' },
);

// A sibling of the measuring program: neither its ancestor nor its descendant.
const sibling = spawn('sleep', ['600'], { stdio: 'ignore' });
const runs = [];
try {
  for (let i = 0; i < ROUNDS; i++) {
    runs.push(
      JSON.parse(execFileSync(bin, [String(CALLS), String(sibling.pid)], { encoding: 'utf8' })),
    );
  }
} finally {
  sibling.kill();
}
const rows = Object.keys(runs[0]).map((name) => ({
  call:
    name === 'attribute' ? 'attribute() (every record, for comparison)' : `enrichTarget(), ${name}`,
  relation: runs[0][name].relation ?? '',
  'p50 us': median(runs.map((r) => r[name].p50)).toFixed(1),
  'p99 us': median(runs.map((r) => r[name].p99)).toFixed(1),
  'mean us': median(runs.map((r) => r[name].mean)).toFixed(1),
}));
printTable(`Target enrichment per record (${CALLS} calls x ${ROUNDS} rounds, medians)`, rows);
writeResult('enrich', { calls: CALLS, rounds: ROUNDS, runs });
