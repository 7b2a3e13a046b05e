// Kernel-free unit tests of the audit backend's record parser and assembler bounds
// (test/native/cpp/audit_parse_test.cc).
import { expect, it } from 'vitest';
import { runCxxTest } from '../helpers/cxx.js';

it('parses records and bounds incomplete events', () => {
  const run = runCxxTest(['test/native/cpp/audit_parse_test.cc', 'native/audit/records.cc']);
  expect(run.output).toMatch(/^ok \d+ checks passed/);
  expect(run.status).toBe(0);
});
