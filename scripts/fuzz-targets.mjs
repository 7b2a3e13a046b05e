// The libFuzzer harnesses and how they are built; shared by scripts/fuzz.mjs (fuzzing) and
// test/fuzz.test.ts (corpus replay in the test suite).
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Harness name -> the native sources it links (paths from the repository root). */
export const FUZZ_TARGETS = {
  mem_path: ['test/fuzz/mem_path_fuzz.cc', 'native/util/mem_path.cc'],
  audit_records: ['test/fuzz/audit_records_fuzz.cc', 'native/audit/records.cc'],
};

/** Builds a harness with libFuzzer, ASan and UBSan into a temporary directory; its path. */
export function buildFuzzer(name) {
  const bin = join(mkdtempSync(join(tmpdir(), `pmg-fuzz-bin-${name}-`)), name);
  execFileSync(
    'clang++',
    [
      '-std=c++17',
      '-g',
      '-O1',
      '-fsanitize=fuzzer,address,undefined',
      '-fno-sanitize-recover=all',
      `-I${join(root, 'native')}`,
      '-o',
      bin,
      ...FUZZ_TARGETS[name].map((s) => join(root, s)),
    ],
    { stdio: 'inherit' },
  );
  return bin;
}
