// Kernel-free unit tests of the mountinfo reader every backend finds procfs mounts with
// (test/native/cpp/mountinfo_test.cc).
import { expect, it } from 'vitest';
import { runCxxTest } from '../helpers/cxx.js';

it('reads mountinfo lines, unescapes paths, skips lines that are not mountinfo', () => {
  const run = runCxxTest([
    'test/native/cpp/mountinfo_test.cc',
    'native/util/mountinfo.cc',
    'native/util/proc_files.cc',
  ]);
  expect(run.output).toMatch(/^ok \d+ checks passed/);
  expect(run.status).toBe(0);
});
