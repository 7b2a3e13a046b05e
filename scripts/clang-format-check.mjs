#!/usr/bin/env node
// Checks (or with --fix, rewrites) native/ and the test-only addon (test/native/addon/) with the
// clang-format binary shipped in the `clang-format` npm package, so lint needs no system
// package.
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const fix = process.argv.includes('--fix');
const files = [];
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (/\.(cc|h|c)$/.test(name)) files.push(p);
  }
}
for (const dir of ['native', 'test/native/addon']) walk(dir);
const bin = require.resolve('clang-format/index.js');
const args = fix ? ['-i', ...files] : ['--dry-run', '-Werror', ...files];
try {
  execFileSync(process.execPath, [bin, '--style=file', ...args], { stdio: 'inherit' });
} catch {
  console.error(`clang-format: native/ or test/native/addon/ is not formatted; run "npm run format"`);
  process.exit(1);
}
