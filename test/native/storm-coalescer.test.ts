// Kernel-free unit tests of when the fanotify capture loop pauses to let a storm coalesce
// (test/native/cpp/storm_coalescer_test.cc).
import { expect, it } from 'vitest';
import { runCxxTest } from '../helpers/cxx.js';

it('pauses only while wake-ups come closer than the gap; a quiet host never pauses', () => {
  const run = runCxxTest(['test/native/cpp/storm_coalescer_test.cc']);
  expect(run.output).toMatch(/^ok \d+ checks passed/);
  expect(run.status).toBe(0);
});
