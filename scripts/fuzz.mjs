// Coverage-guided fuzzing of the native parsers that read hostile input (libFuzzer through
// clang, with ASan and UBSan). Each harness in test/fuzz/*_fuzz.cc runs for --seconds
// (default 30), starting from its corpus in test/fuzz/corpus/<name>/; new interesting inputs
// are merged into that corpus (commit them: the test suite replays the corpus, test/fuzz.test.ts).
// A crash leaves the input in test/fuzz/crashes/ and exits 1.
// Usage: npm run fuzz -- [--seconds N] [name...]   (needs clang and Debian's libclang-rt-14-dev)
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildFuzzer, FUZZ_TARGETS, root } from './fuzz-targets.mjs';

const { values, positionals } = parseArgs({
  options: { seconds: { type: 'string', default: '30' } },
  allowPositionals: true,
});
const seconds = Number(values.seconds);
if (!Number.isInteger(seconds) || seconds < 1) {
  console.error('fuzz: --seconds takes a whole number of seconds');
  process.exit(2);
}
const names = positionals.length ? positionals : Object.keys(FUZZ_TARGETS);
let failed = 0;
for (const name of names) {
  if (!FUZZ_TARGETS[name]) {
    console.error(`fuzz: no harness named ${name} (${Object.keys(FUZZ_TARGETS).join(', ')})`);
    process.exit(2);
  }
  const bin = buildFuzzer(name);
  const corpus = join(root, 'test/fuzz/corpus', name);
  const fresh = mkdtempSync(join(tmpdir(), `pmg-fuzz-${name}-`));
  const crashes = join(root, 'test/fuzz/crashes');
  mkdirSync(crashes, { recursive: true });
  console.log(`fuzz ${name}: ${seconds} s from ${readdirSync(corpus).length} corpus inputs`);
  const run = spawnSync(
    bin,
    [
      `-max_total_time=${seconds}`,
      `-artifact_prefix=${crashes}/${name}-`,
      '-print_final_stats=1',
      fresh,
      corpus,
    ],
    { stdio: 'inherit' },
  );
  if (run.status !== 0) {
    failed++;
    console.error(`fuzz ${name}: FAILED (exit ${run.status}); the input is in ${crashes}`);
    continue;
  }
  // Keep only what adds coverage: merge the new inputs into the committed corpus.
  execFileSync(bin, ['-merge=1', corpus, fresh], { stdio: 'ignore' });
  console.log(`fuzz ${name}: corpus now ${readdirSync(corpus).length} inputs`);
}
process.exit(failed ? 1 : 0);
