// Builds a C++ test program from test/native/cpp and native/ sources with the C++ compiler
// node-gyp uses (c++), warnings as errors, under AddressSanitizer and UBSan, and runs it.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';

const root = resolve(__dirname, '../..');

/** Compiles `sources` (paths relative to the repository) into a temporary binary; its path. */
export function buildCxx(sources: string[]): string {
  const name = basename(sources[0] ?? 'test', '.cc');
  const bin = join(mkdtempSync(join(tmpdir(), `pmg-${name}-`)), name);
  execFileSync('c++', [
    '-std=c++17',
    '-Wall',
    '-Wextra',
    '-Werror',
    '-g',
    '-fsanitize=address,undefined',
    '-fno-sanitize-recover=all',
    `-I${join(root, 'native')}`,
    `-I${join(root, 'test/native/cpp')}`,
    '-o',
    bin,
    ...sources.map((s) => join(root, s)),
  ]);
  return bin;
}

/** Builds and runs a CHECK-based unit test (test/native/cpp/check.h); its output and status. */
export function runCxxTest(sources: string[]): { output: string; status: number | null } {
  const run = spawnSync(buildCxx(sources), { encoding: 'utf8' });
  return { output: `${run.stdout}${run.stderr}`, status: run.status };
}
