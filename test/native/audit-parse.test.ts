// Kernel-free unit tests of the audit backend's record parser, assembler bounds and mem path
// rules (test/native/cpp/audit_parse_test.cc), built with the C++ compiler node-gyp uses.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect, it } from 'vitest';

const root = resolve(__dirname, '../..');
const hasCxx = spawnSync('sh', ['-c', 'command -v c++']).status === 0;

it.runIf(hasCxx)('parses records, bounds incomplete events and classifies mem paths', () => {
  const bin = join(mkdtempSync(join(tmpdir(), 'pmg-audit-parse-')), 'audit_parse_test');
  execFileSync('c++', [
    '-std=c++17',
    '-Wall',
    '-Wextra',
    '-Werror',
    `-I${join(root, 'native')}`,
    '-o',
    bin,
    join(root, 'test/native/cpp/audit_parse_test.cc'),
    join(root, 'native/audit/records.cc'),
    join(root, 'native/audit/procmem_path.cc'),
  ]);
  const run = spawnSync(bin, { encoding: 'utf8' });
  expect(run.stdout).toMatch(/^ok \d+/);
  expect(run.status).toBe(0);
});
