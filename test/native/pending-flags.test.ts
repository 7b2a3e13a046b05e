// Kernel-free unit tests of the fanotify backend's open-flags resolution (PendingFlags:
// test/native/cpp/pending_flags_test.cc).
import { expect, it } from 'vitest';
import { runCxxTest } from '../helpers/cxx.js';

it("waits for the fd, the opener's progress or a write-close, never guesses from time, stays bounded", () => {
  const run = runCxxTest([
    'test/native/cpp/pending_flags_test.cc',
    'native/fanotify/pending_flags.cc',
  ]);
  expect(run.output).toMatch(/^ok \d+ checks passed/);
  expect(run.status).toBe(0);
});
