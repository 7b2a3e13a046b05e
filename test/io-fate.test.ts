// A proc_mem_io summary follows what the policy did to its open (src/watcher/io-fate.ts): the
// real engine and policy decide, the table remembers, the summary is dropped or marked.
import { describe, expect, it } from 'vitest';
import { SignatureEngine } from '../src/engine/engine.js';
import { createProcMemIoEvent, type ProcMemIoEvent } from '../src/events/proc-mem-io.js';
import type { SecurityFileOpenEvent } from '../src/events/types.js';
import { IoFates, MAX_REMEMBERED } from '../src/watcher/io-fate.js';
import { memOpen, onePolicy } from './policy-helpers.js';

/** The engine and the table wired as the watcher wires them. */
function setup(policyText?: string, dedup?: string) {
  const fates = new IoFates();
  const engine = new SignatureEngine({
    policy: policyText ? onePolicy(policyText, dedup) : null,
  });
  engine.on('finding', (f) => fates.delivered(f));
  engine.on('suppressed', (_f, exception) => fates.suppressedBy(exception));
  const open = (event: SecurityFileOpenEvent) => {
    fates.begin(event);
    engine.dispatch(event);
    fates.end();
    return event;
  };
  return { fates, open };
}

/** The summary of `open` (fd 3), as the capture would build it. */
function summaryOf(open: SecurityFileOpenEvent): ProcMemIoEvent {
  const { eventId, eventName, argsNum, args, procmemGuard, ...context } = open;
  return createProcMemIoEvent({
    context,
    mark: procmemGuard ?? { procfsMem: true, flagsSource: 'kernel' },
    fd: open.returnValue,
    pathname: `/proc/${procmemGuard?.targetPid}/mem`,
    reads: 2n,
    writes: 0n,
    bytesRead: 8192n,
    bytesWritten: 0n,
    durationNs: 1000n,
    openTimestamp: open.timestamp,
    end: 'closed',
  });
}

const gdb = { exe: '/usr/bin/gdb', pid: 1001 };
const cases: {
  name: string;
  policy?: string;
  expected: 'dropped' | 'unchanged' | string[];
}[] = [
  { name: 'no policy', expected: 'unchanged' },
  {
    name: 'a suppress exception that matches the open',
    policy: 'name: gdb\nopener: { exe: [/usr/bin/gdb] }\naction: suppress',
    expected: 'dropped',
  },
  {
    name: 'a suppress exception for another opener',
    policy: 'name: lldb\nopener: { exe: [/usr/bin/lldb-server] }\naction: suppress',
    expected: 'unchanged',
  },
  {
    name: 'an annotate exception',
    policy: 'name: gdb-noted\nopener: { exe: [/usr/bin/gdb] }\naction: annotate',
    expected: ['gdb-noted'],
  },
];

describe('proc_mem_io summaries follow the policy of their open', () => {
  for (const c of cases) {
    it(c.name, () => {
      const { fates, open } = setup(c.policy);
      const o = open(memOpen(gdb));
      const out = fates.apply(summaryOf(o));
      if (c.expected === 'dropped') {
        expect(out).toBeUndefined();
        expect(fates.suppressed).toBe(1);
      } else if (c.expected === 'unchanged') {
        expect(out).toEqual(summaryOf(o));
        expect(fates.suppressed).toBe(0);
      } else {
        expect(out?.procmemGuard.exceptions).toEqual(c.expected);
        expect(out?.args).toEqual(summaryOf(o).args);
      }
    });
  }

  it('a folded (dedup) open keeps its summary: what it read is news', () => {
    const { fates, open } = setup(
      'name: other\nopener: { exe: [/usr/bin/none] }\naction: suppress',
      '{ window: 60s }',
    );
    open(memOpen({ ...gdb, at: 0 }));
    const repeat = open(memOpen({ ...gdb, at: 1 }));
    expect(fates.apply(summaryOf(repeat))).toEqual(summaryOf(repeat));
  });

  it('a summary whose open it never saw passes; a fate is used once', () => {
    const { fates, open } = setup('name: gdb\nopener: { exe: [/usr/bin/gdb] }\naction: suppress');
    const o = open(memOpen(gdb));
    expect(fates.apply(summaryOf(memOpen({ ...gdb, at: 5 })))).toBeDefined();
    expect(fates.apply(summaryOf(o))).toBeUndefined();
    expect(fates.apply(summaryOf(o))).toBeDefined();
  });

  it(`remembers at most ${MAX_REMEMBERED} opens, forgetting the oldest`, () => {
    const { fates, open } = setup('name: gdb\nopener: { exe: [/usr/bin/gdb] }\naction: suppress');
    const opens = Array.from({ length: MAX_REMEMBERED + 1 }, (_, i) =>
      open(memOpen({ ...gdb, at: i })),
    );
    expect(fates.apply(summaryOf(opens[0] as SecurityFileOpenEvent))).toBeDefined();
    expect(fates.apply(summaryOf(opens[1] as SecurityFileOpenEvent))).toBeUndefined();
    expect(fates.apply(summaryOf(opens[MAX_REMEMBERED] as SecurityFileOpenEvent))).toBeUndefined();
  });
});
