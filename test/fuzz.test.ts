// Replays the committed fuzz corpus (test/fuzz/corpus/, grown by `npm run fuzz`) through each
// libFuzzer harness built with ASan and UBSan: every input that once found new coverage must
// still run clean.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';
// @ts-expect-error: a plain ES module shared with scripts/fuzz.mjs
import { buildFuzzer, FUZZ_TARGETS, root } from '../scripts/fuzz-targets.mjs';

it.each(Object.keys(FUZZ_TARGETS))(
  'the %s fuzz corpus runs clean under ASan and UBSan',
  (name) => {
    const bin = buildFuzzer(name);
    const run = spawnSync(bin, ['-runs=0', join(root, 'test/fuzz/corpus', name)], {
      encoding: 'utf8',
    });
    expect(run.stderr).toMatch(/Done \d+ runs|INITED/);
    expect(run.status).toBe(0);
  },
  120_000,
);
