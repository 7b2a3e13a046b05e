// Kernel-free unit tests of the mem path parser as audit and fanotify use it
// (test/native/cpp/mem_path_test.cc).
import { expect, it } from 'vitest';
import { runCxxTest } from '../helpers/cxx.js';

it('reads <pid>/mem and <pid>/task/<tid>/mem, self names only where they name the opener', () => {
  const run = runCxxTest([
    'test/native/cpp/mem_path_test.cc',
    'native/util/mem_path.cc',
    'native/fanotify/event_path.cc',
    'native/util/mountinfo.cc',
    'native/util/proc_files.cc',
  ]);
  expect(run.output).toMatch(/^ok \d+ checks passed/);
  expect(run.status).toBe(0);
});
