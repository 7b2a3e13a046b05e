// Kernel-free unit tests of the opener-to-target relation (self, ancestor, descendant,
// unrelated, unknown) over made-up process trees: test/native/cpp/target_relation_test.cc.
import { expect, it } from 'vitest';
import { runCxxTest } from '../helpers/cxx.js';

it('relates opener and target through their parent chains, bounded, never guessing', () => {
  const run = runCxxTest([
    'test/native/cpp/target_relation_test.cc',
    'native/proc/target_relation.cc',
  ]);
  expect(run.output).toMatch(/^ok \d+ checks passed/);
  expect(run.status).toBe(0);
});
