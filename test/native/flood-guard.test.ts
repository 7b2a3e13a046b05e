// Kernel-free unit tests of the per-uid budget of reported mem opens (FloodGuard:
// test/native/cpp/flood_guard_test.cc).
import { expect, it } from 'vitest';
import { runCxxTest } from '../helpers/cxx.js';

it("folds a flooder's opens over its budget, counts them, and leaves other uids alone", () => {
  const run = runCxxTest(['test/native/cpp/flood_guard_test.cc', 'native/util/flood_guard.cc']);
  expect(run.output).toMatch(/^ok \d+ checks passed/);
  expect(run.status).toBe(0);
});
