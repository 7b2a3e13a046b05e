// The policy on the library's live API without capture (nothing here touches the kernel:
// ProcMemWatcher does not until start()): options.policy, setPolicy, stats and metrics.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PolicyError, parsePolicy } from '../src/index.js';
import { createRegistry } from '../src/service/metrics.js';
import { ProcMemWatcher } from '../src/watcher/watcher.js';

const dir = mkdtempSync(join(tmpdir(), 'pmg-policy-api-'));
const file = join(dir, 'p.yaml');
writeFileSync(
  file,
  'version: 1\ndedup: { window: 5s }\nexceptions:\n  - { name: gdb-own, opener: { exe: [/usr/bin/gdb] }, relation: [ancestor], action: suppress }\n  - { name: note-root, opener: { uid: [0] }, action: annotate }\n',
);

describe('ProcMemWatcher options.policy', () => {
  it('takes a path, a Policy or an object in the file shape', () => {
    expect(new ProcMemWatcher({ policy: file }).stats().policy.policy).toEqual({
      source: file,
      exceptions: 2,
    });
    const parsed = parsePolicy('version: 1\n', 'inline.yaml');
    expect(new ProcMemWatcher({ policy: parsed }).stats().policy.policy?.source).toBe(
      'inline.yaml',
    );
    const fromObject = new ProcMemWatcher({ policy: { version: 1, dedup: { window: '1m' } } });
    expect(fromObject.stats().policy.dedup.windowMs).toBe(60_000);
    expect(new ProcMemWatcher().stats().policy.policy).toBeNull();
  });

  it('an invalid policy throws from the constructor: PolicyError, or TypeError for a wrong type', () => {
    expect(() => new ProcMemWatcher({ policy: { version: 2 } as never })).toThrow(PolicyError);
    expect(() => new ProcMemWatcher({ policy: 42 as never })).toThrow(TypeError);
    expect(() => new ProcMemWatcher({ policy: join(dir, 'missing.yaml') })).toThrow(
      /missing\.yaml: cannot read: ENOENT/,
    );
    // A signature the watcher does not run.
    expect(
      () =>
        new ProcMemWatcher({
          builtinSignatures: false,
          policy: {
            version: 1,
            exceptions: [
              { name: 'a', signatures: ['TRC-1023'], opener: { uid: [0] }, action: 'suppress' },
            ],
          },
        }),
    ).toThrow(/no signature "TRC-1023" is running \(running: none\)/);
  });

  it('setPolicy replaces it; an invalid one throws and the running one stays', () => {
    const watcher = new ProcMemWatcher({ policy: file });
    expect(() => watcher.setPolicy({ version: 1, exceptions: [{ name: 'x' }] } as never)).toThrow(
      'policy: exceptions[0].action: missing',
    );
    expect(watcher.stats().policy.policy?.source).toBe(file);
    watcher.setPolicy(null);
    expect(watcher.stats().policy.policy).toBeNull();
    expect(watcher.pendingRepeats()).toEqual([]);
  });

  it('metrics name every exception of the running policy, from 0', async () => {
    const watcher = new ProcMemWatcher({ policy: file });
    const text = await createRegistry(watcher, () => []).metrics();
    expect(text).toMatch(/^procmem_guard_suppressed_total\{exception="gdb-own"\} 0$/m);
    expect(text).toMatch(/^procmem_guard_suppressed_total\{exception="note-root"\} 0$/m);
    expect(text).toMatch(/^procmem_guard_annotated_total\{exception="note-root"\} 0$/m);
    for (const name of ['folded_total', 'carried_total', 'evicted_total', 'pending'])
      expect(text).toMatch(new RegExp(`^procmem_guard_dedup_${name} 0$`, 'm'));
  });
});
