#!/usr/bin/env node
// `npm run build:native`: the development and CI build of the addon into build/Release, with
// -Werror and in the prebuild configuration (PMG_PORTABLE=1: glibc floor, static libstdc++), so
// the tests exercise what ships. PMG_ASAN=1 builds with sanitizers instead (not portable).
// prebuilds/ (made by `npm run build:prebuilds` or `npm pack`) is removed afterwards: the
// loader prefers a prebuild, and one made from earlier sources would shadow this build.
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildEnv, nodeGyp, root } from './native-env.mjs';

const env = buildEnv({ PMG_PORTABLE: process.env.PMG_ASAN === '1' ? '' : '1' });
for (const step of ['configure', 'build']) {
  const res = spawnSync(nodeGyp[0], [...nodeGyp.slice(1), step], {
    cwd: root,
    env,
    stdio: 'inherit',
  });
  if (res.status !== 0) {
    const why = res.error ? res.error.message : `exit status ${res.status ?? res.signal}`;
    console.error(`build:native: node-gyp ${step} failed (${why}); its output is above.`);
    process.exit(1);
  }
}
const prebuilds = join(root, 'prebuilds');
if (existsSync(prebuilds)) {
  rmSync(prebuilds, { recursive: true, force: true });
  console.error('build:native: removed prebuilds/ (earlier sources); npm pack makes them again');
}
