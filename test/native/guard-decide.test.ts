// Kernel-free unit tests of guard mode's decision (native/ebpf/guard_decide.h, the function
// the BPF program calls): never-kill rules (the watcher, host pid 1, kernel threads, self),
// every exception condition, the table bounds: test/native/cpp/guard_decide_test.cc.
import { expect, it } from 'vitest';
import { runCxxTest } from '../helpers/cxx.js';

it('decides allow or kill from the compact exception table, never killing pid 1 or kernel threads', () => {
  const run = runCxxTest(['test/native/cpp/guard_decide_test.cc']);
  expect(run.output).toMatch(/^ok \d+ checks passed/);
  expect(run.status).toBe(0);
});
