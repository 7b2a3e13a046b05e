// Kernel-free unit tests of the fanotify backend's open-flags resolution (PendingFlags:
// test/native/cpp/pending_flags_test.cc), built with the C++ compiler node-gyp uses.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect, it } from 'vitest';

const root = resolve(__dirname, '../..');

it("waits for the fd, the opener's progress or a write-close, never guesses from time, stays bounded", () => {
  const bin = join(mkdtempSync(join(tmpdir(), 'pmg-pending-flags-')), 'pending_flags_test');
  execFileSync('c++', [
    '-std=c++17',
    '-Wall',
    '-Wextra',
    '-Werror',
    '-fsanitize=address,undefined',
    '-fno-sanitize-recover=all',
    `-I${join(root, 'native')}`,
    '-o',
    bin,
    join(root, 'test/native/cpp/pending_flags_test.cc'),
    join(root, 'native/fanotify/pending_flags.cc'),
  ]);
  const run = spawnSync(bin, { encoding: 'utf8' });
  expect(run.stdout + run.stderr).toMatch(/^ok \d+ checks passed/);
  expect(run.status).toBe(0);
});
