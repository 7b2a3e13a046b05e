#!/usr/bin/env node
// `npm run build:native`: the development and CI build of the addon into build/Release, with
// -Werror and in the prebuild configuration (PMG_PORTABLE=1: glibc floor, static libstdc++), so
// the tests exercise what ships; with it the test-only addon, build/Release/
// procmem_guard_test.node (PMG_TEST_ADDON=1, binding.gyp), which nothing packs.
// prebuilds/ (made by `npm run build:prebuilds` or `npm pack`) is removed afterwards: the
// loader prefers a prebuild, and one made from earlier sources would shadow this build.
//
// `node scripts/build-native.mjs --sanitize` (or PMG_ASAN=1 npm run build:native): the
// AddressSanitizer + UBSan build of the addon (not portable, no test addon) in its own
// directory, build/sanitize/, from a copy of the sources that keeps their timestamps, so it is
// incremental and build/Release stays as it is. Prints the path of the sanitized .node last
// (test/native/sanitizers.test.ts runs scripts/native-smoke.cjs with it).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildEnv, nodeGyp, root, stageSources } from './native-env.mjs';

const sanitize = process.argv.includes('--sanitize') || process.env.PMG_ASAN === '1';

function nodeGypSteps(cwd, env) {
  for (const step of ['configure', 'build']) {
    const res = spawnSync(nodeGyp[0], [...nodeGyp.slice(1), step], {
      cwd,
      env,
      stdio: ['ignore', sanitize ? 2 : 'inherit', 'inherit'], // --sanitize: stdout is the path
    });
    if (res.status !== 0) {
      const why = res.error ? res.error.message : `exit status ${res.status ?? res.signal}`;
      console.error(`build:native: node-gyp ${step} failed (${why}); its output is above.`);
      process.exit(1);
    }
  }
}

if (sanitize) {
  const dir = join(root, 'build', 'sanitize');
  mkdirSync(dir, { recursive: true });
  stageSources(dir, { keepTimestamps: true });
  nodeGypSteps(dir, buildEnv({ PMG_ASAN: '1', PMG_PORTABLE: '', PMG_TEST_ADDON: '' }));
  console.log(join(dir, 'build', 'Release', 'procmem_guard.node'));
} else {
  nodeGypSteps(root, buildEnv({ PMG_PORTABLE: '1', PMG_TEST_ADDON: '1', PMG_ASAN: '' }));
  const prebuilds = join(root, 'prebuilds');
  if (existsSync(prebuilds)) {
    rmSync(prebuilds, { recursive: true, force: true });
    console.error('build:native: removed prebuilds/ (earlier sources); npm pack makes them again');
  }
}
