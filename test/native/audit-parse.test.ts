// Kernel-free unit tests of the audit backend's record parser, assembler bounds and mem path
// rules (test/native/cpp/audit_parse_test.cc).
import { expect, it } from 'vitest';
import { runCxxTest } from '../helpers/cxx.js';

it('parses records, bounds incomplete events and classifies mem paths', () => {
  const run = runCxxTest([
    'test/native/cpp/audit_parse_test.cc',
    'native/audit/records.cc',
    'native/util/mem_path.cc',
  ]);
  expect(run.output).toMatch(/^ok \d+ checks passed/);
  expect(run.status).toBe(0);
});
