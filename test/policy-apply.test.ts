// The policy in the engine (src/policy/filter.ts, dedup.ts): suppression and annotation with
// their counts, dedup by event time (a fake clock: the events' own timestamps), eviction and
// reloads, and replay with a policy.
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SignatureEngine } from '../src/engine/engine.js';
import { parseEventLine } from '../src/events/reader.js';
import { serializeEvent } from '../src/events/writer.js';
import { formatFindingPretty } from '../src/output/pretty.js';
import { type DedupKey, DedupTable, NEW_KEY } from '../src/policy/dedup.js';
import { parsePolicy } from '../src/policy/load.js';
import { type Policy, PolicyError } from '../src/policy/types.js';
import { replay } from '../src/replay/replay.js';
import type { Finding } from '../src/signatures/signature.js';
import { traceeLine } from './helpers.js';
import { memOpen, onePolicy } from './policy-helpers.js';

function engineWith(policy: Policy | null) {
  const engine = new SignatureEngine({ policy });
  const findings: Finding[] = [];
  engine.on('finding', (f) => findings.push(f));
  return { engine, findings };
}

const DEDUP_ONLY = parsePolicy('version: 1\ndedup: { window: 60s }\n', 'd.yaml');

describe('exceptions in the engine', () => {
  it('suppresses and counts by name; other findings pass untouched', () => {
    const { engine, findings } = engineWith(
      onePolicy(
        'name: allow-gdb\nopener: { exe: [/usr/bin/gdb] }\nrelation: [ancestor]\naction: suppress',
      ),
    );
    const gdb = memOpen({
      exe: '/usr/bin/gdb',
      comm: 'gdb',
      flags: 2,
      target: { relation: 'ancestor' },
    });
    expect(engine.dispatch(gdb)).toBe(0);
    const dd = memOpen();
    expect(engine.dispatch(dd)).toBe(1);
    expect(findings).toHaveLength(1);
    expect(findings[0]?.event).toBe(dd);
    const s = engine.policyStats();
    // gdb's O_RDWR open gave two findings (TRC-1023 and TRC-1024), both suppressed.
    expect(s.suppressed).toBe(2);
    expect(s.suppressedByException).toEqual({ 'allow-gdb': 2 });
    expect(s.policy).toEqual({ source: 'test.yaml', exceptions: 1 });
    expect(engine.stats.findings).toBe(1);
  });

  it('annotates a copy of the finding; the captured event is not changed', () => {
    const { engine, findings } = engineWith(
      onePolicy('name: bcc-usdt\nopener: { uid: [0] }\naction: annotate'),
    );
    const event = memOpen();
    engine.dispatch(event);
    expect(findings[0]?.event.procmemGuard?.exceptions).toEqual(['bcc-usdt']);
    expect(findings[0]?.event).not.toBe(event);
    expect(event.procmemGuard?.exceptions).toBeUndefined();
    expect(engine.policyStats()).toMatchObject({
      annotated: 1,
      annotatedByException: { 'bcc-usdt': 1 },
      suppressed: 0,
    });
    expect(serializeEvent(findings[0]?.event as never)).toContain('"exceptions":["bcc-usdt"]');
    expect(formatFindingPretty(findings[0] as Finding)).toMatch(/ {2}exceptions bcc-usdt$/);
  });

  it('refuses a policy naming a signature that is not registered and keeps the old one', () => {
    const { engine, findings } = engineWith(
      onePolicy('name: a\nopener: { exe: [/usr/bin/dd] }\naction: suppress'),
    );
    const bad = onePolicy(
      'name: b\nsignatures: [TRC-9999]\nopener: { uid: [0] }\naction: suppress',
    );
    expect(() => engine.setPolicy(bad)).toThrow(PolicyError);
    engine.dispatch(memOpen());
    expect(findings).toHaveLength(0);
    expect(engine.policyStats().suppressedByException).toEqual({ a: 1 });
  });

  it('keeps counts by name across a reload; drops names that left with no count', () => {
    const { engine } = engineWith(
      parsePolicy(
        'version: 1\nexceptions:\n  - { name: a, opener: { uid: [0] }, action: suppress }\n  - { name: b, opener: { uid: [5] }, action: suppress }\n',
      ),
    );
    engine.dispatch(memOpen());
    engine.setPolicy(onePolicy('name: c\nopener: { uid: [7] }\naction: suppress'));
    expect(engine.policyStats().suppressedByException).toEqual({ c: 0, a: 1 });
    engine.setPolicy(null);
    expect(engine.dispatch(memOpen())).toBe(1);
    expect(engine.policyStats().policy).toBeNull();
  });
});

describe('dedup in the engine (event time)', () => {
  it('50 identical reads inside the window: one finding, 49 folded, carried by the next one', () => {
    const { engine, findings } = engineWith(DEDUP_ONLY);
    for (let i = 0; i < 50; i++) engine.dispatch(memOpen({ at: i * 0.5 }));
    expect(findings).toHaveLength(1);
    expect(findings[0]?.event.procmemGuard?.repeats).toBeUndefined();
    expect(engine.policyStats().dedup).toEqual({
      windowMs: 60_000,
      folded: 49,
      carried: 0,
      pending: 49,
      evicted: 0,
      keys: 1,
    });
    expect(engine.pendingRepeats()).toEqual([
      {
        signature: 'TRC-1023',
        opener: '/usr/bin/dd',
        target: '/usr/bin/sleep',
        access: 'read',
        exceptions: '',
        count: 49,
      },
    ]);
    // The window (from the first finding, at 0 s) has passed at 60 s.
    engine.dispatch(memOpen({ at: 60 }));
    expect(findings).toHaveLength(2);
    expect(findings[1]?.event.procmemGuard?.repeats).toBe(49);
    expect(formatFindingPretty(findings[1] as Finding)).toMatch(/ {2}repeats 49$/);
    expect(engine.policyStats().dedup).toMatchObject({ folded: 49, carried: 49, pending: 0 });
  });

  it('distinct openers, targets, signatures or accesses never fold together', () => {
    const { engine, findings } = engineWith(DEDUP_ONLY);
    engine.dispatch(memOpen());
    engine.dispatch(memOpen({ exe: '/usr/bin/cat', comm: 'cat' }));
    engine.dispatch(memOpen({ target: { exe: '/usr/sbin/sshd' } }));
    engine.dispatch(memOpen({ flags: 1 })); // write: TRC-1024
    engine.dispatch(memOpen({ flags: 2 })); // read-write: both, under access read-write
    expect(findings.map((f) => f.sigMetadata.ID)).toEqual([
      'TRC-1023',
      'TRC-1023',
      'TRC-1023',
      'TRC-1024',
      'TRC-1023',
      'TRC-1024',
    ]);
    expect(engine.policyStats().dedup.folded).toBe(0);
  });

  it('an opener or target the capture could not name folds only with itself', () => {
    const { engine, findings } = engineWith(DEDUP_ONLY);
    engine.dispatch(memOpen({ exe: '', pid: 10 }));
    engine.dispatch(memOpen({ exe: '', pid: 11 }));
    engine.dispatch(memOpen({ target: null }));
    engine.dispatch(memOpen({ target: { pid: 3000, exe: undefined } }));
    engine.dispatch(memOpen({ exe: '', pid: 10, at: 1 }));
    expect(findings).toHaveLength(4);
    expect(engine.policyStats().dedup.folded).toBe(1);
  });

  it('a clock step back by more than a window starts a new window', () => {
    const { engine, findings } = engineWith(DEDUP_ONLY);
    engine.dispatch(memOpen({ at: 1000 }));
    engine.dispatch(memOpen({ at: 990 })); // a little back: still inside
    engine.dispatch(memOpen({ at: 900 })); // far back: emitted, carrying the fold
    expect(findings).toHaveLength(2);
    expect(findings[1]?.event.procmemGuard?.repeats).toBe(1);
  });

  it('annotated and plain findings are different streams; suppressed ones never fold', () => {
    const { engine, findings } = engineWith(
      parsePolicy(
        'version: 1\ndedup: { window: 60s }\nexceptions:\n  - { name: n, opener: { uid: [1000] }, action: annotate }\n  - { name: s, opener: { uid: [7] }, action: suppress }\n',
      ),
    );
    engine.dispatch(memOpen());
    engine.dispatch(memOpen({ uid: 1000 }));
    engine.dispatch(memOpen({ uid: 1000 }));
    engine.dispatch(memOpen({ uid: 7 }));
    expect(findings).toHaveLength(2);
    expect(findings[1]?.event.procmemGuard?.exceptions).toEqual(['n']);
    expect(engine.policyStats()).toMatchObject({ suppressed: 1, annotated: 2 });
    expect(engine.policyStats().dedup.folded).toBe(1);
  });

  it('turning dedup off by a reload moves pending counts to evicted', () => {
    const { engine } = engineWith(DEDUP_ONLY);
    engine.dispatch(memOpen());
    engine.dispatch(memOpen());
    engine.setPolicy(parsePolicy('version: 1\n'));
    expect(engine.policyStats().dedup).toMatchObject({
      windowMs: null,
      folded: 1,
      pending: 0,
      evicted: 1,
    });
  });
});

describe('DedupTable', () => {
  const key = (n: number) => ({
    signature: 'TRC-1023',
    opener: `/bin/${n}`,
    target: '/t',
    access: 'read',
    exceptions: '',
  });
  const s = (n: number) => BigInt(n) * 1_000_000_000n;
  /** As the filter does: a new key is inserted and emitted with nothing to carry. */
  const offer = (table: DedupTable, id: string, k: DedupKey, at: bigint) => {
    const r = table.offer(id, at);
    if (r !== NEW_KEY) return r;
    table.insert(id, k, at);
    return 0;
  };

  it('evicts the oldest key beyond maxKeys, keeping its count', () => {
    const table = new DedupTable(60_000, 2);
    expect(offer(table, 'a', key(1), s(0))).toBe(0);
    expect(offer(table, 'a', key(1), s(1))).toBeUndefined();
    expect(offer(table, 'b', key(2), s(2))).toBe(0);
    expect(offer(table, 'c', key(3), s(3))).toBe(0); // evicts a, and its one fold
    expect(table.stats(60_000)).toEqual({
      windowMs: 60_000,
      folded: 1,
      carried: 0,
      pending: 0,
      evicted: 1,
      keys: 2,
    });
    // a is new again: emitted at once, nothing to carry.
    expect(offer(table, 'a', key(1), s(4))).toBe(0);
  });

  it('a shrinking reload evicts down to the new size', () => {
    const table = new DedupTable(60_000, 3);
    for (const id of ['a', 'b', 'c']) offer(table, id, key(0), s(0));
    offer(table, 'c', key(0), s(1));
    table.resize(60_000, 1);
    expect(table.stats(60_000)).toMatchObject({ keys: 1, pending: 1, evicted: 0 });
  });

  it('a reload with another window keeps open windows where they started', () => {
    const table = new DedupTable(60_000, 4);
    offer(table, 'a', key(0), s(0));
    table.resize(10_000, 4);
    expect(offer(table, 'a', key(0), s(9))).toBeUndefined(); // inside the new 10 s
    expect(offer(table, 'a', key(0), s(11))).toBe(1); // past it: carries the fold
  });

  it('never loses a count: folded = carried + pending + evicted, and emitted + folded = offered', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: -2, max: 200 })), {
          maxLength: 300,
        }),
        fc.integer({ min: 1, max: 4 }),
        (offers, maxKeys) => {
          const table = new DedupTable(10_000, maxKeys);
          let emitted = 0;
          let carriedSeen = 0;
          for (const [id, t] of offers) {
            const r = offer(table, String(id), key(id), s(t));
            if (r !== undefined) {
              emitted++;
              carriedSeen += r;
            }
          }
          const st = table.stats(10_000);
          expect(st.folded).toBe(st.carried + st.pending + st.evicted);
          expect(emitted + st.folded).toBe(offers.length);
          expect(carriedSeen).toBe(st.carried);
          expect(st.keys).toBeLessThanOrEqual(maxKeys);
        },
      ),
    );
  });
});

describe('replay with a policy', () => {
  const lines = (pids: number[], ts: (i: number) => string) =>
    Readable.from(pids.map((pid, i) => `${traceeLine({ processId: pid, timestamp: ts(i) })}\n`));

  it('opener exceptions apply, target ones never; dedup folds by event time', async () => {
    const policy = parsePolicy(
      [
        'version: 1',
        'dedup: { window: 10s }',
        'exceptions:',
        '  - { name: by-exe, opener: { exe: [/usr/bin/cat] }, action: suppress }',
        '  - { name: by-target, target: { exe: [/usr/bin/sleep] }, action: suppress }',
      ].join('\n'),
    );
    const out: string[] = [];
    // Five dd reads of /proc/1234/mem one second apart, then one 20 s later.
    const summary = await replay(
      lines([1, 2, 3, 4, 5, 6], (i) => `${1732675200 + (i < 5 ? i : 25)}000000000`),
      {
        format: 'json',
        write: (t) => out.push(t),
        onMalformed: (e) => {
          throw e;
        },
        policy,
      },
    );
    expect(summary.findings).toBe(2);
    expect(summary.policy).toMatchObject({ suppressed: 0, dedup: { folded: 4, carried: 4 } });
    const findings = out.join('').trimEnd().split('\n');
    expect(findings[1]).toContain(
      '"procmemGuard":{"procfsMem":false,"flagsSource":"tracee","repeats":4}',
    );
    // The finding's event, as text (JSON.parse would round its 64-bit values), reads back.
    const text = findings[1] as string;
    const eventText = text.slice(text.indexOf(',"event":') + 9, text.lastIndexOf(',"data":'));
    const back = parseEventLine(eventText, 1);
    expect(back.ok && back.event.procmemGuard?.repeats).toBe(4);
  });
});
