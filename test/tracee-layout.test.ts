// The layout-specific fast reader must agree with the general path (JSON.parse, digit
// recovery, validation) on every line it accepts, and decline everything else; in Tracee's
// own layout and in every other layout it learns (whitespace anywhere, fields reordered).

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createSecurityFileOpenEvent } from '../src/events/build.js';
import { parseEventLine, parseEventLineGeneral } from '../src/events/reader.js';
import { forgetLayout, readTraceeLayout } from '../src/events/tracee-layout.js';
import { serializeEvent } from '../src/events/writer.js';
import { LAYOUTS, relayout, traceeLine } from './helpers.js';

function general(line: string) {
  const result = parseEventLineGeneral(line, 1);
  return result.ok ? result.event : undefined;
}

const sample = readFileSync(new URL('fixtures/tracee-sample.jsonl', import.meta.url), 'utf8')
  .trimEnd()
  .split('\n');

const validLines = [
  ...sample,
  traceeLine(),
  traceeLine({ flags: 557058, timestamp: '9007199254740993', ctime: '18446744073709551615' }),
  traceeLine({ timestamp: '0', processName: 'a b\u00e9\u4e2d' }),
  traceeLine({ pathname: '/tmp/x:12345678901234567890,"q"\\\u0001\u202e' }), // escapes
  serializeEvent(
    createSecurityFileOpenEvent({
      pathname: '/proc/1/mem',
      flags: 'O_RDWR',
      container: { id: 'abc', image: 'alpine' },
      timestamp: 1732675200123456789n,
    }),
  ),
  // This project's own output (watch --events), with its capture mark.
  serializeEvent(
    createSecurityFileOpenEvent({
      pathname: '/proc/1/task/2/mem',
      flags: 0o100002,
      procmemGuard: {
        procfsMem: true,
        targetPid: 1,
        targetTid: 2,
        flagsSource: 'inferred',
        backend: 'fanotify',
        notes: ['opener-exited', 'a "quoted" \\ note'],
      },
    }),
  ),
  serializeEvent(
    createSecurityFileOpenEvent({
      pathname: '/proc/3/mem',
      flags: 0,
      procmemGuard: { procfsMem: false, flagsSource: 'unknown' },
    }),
  ),
  // A live event with the target read at capture time.
  serializeEvent(
    createSecurityFileOpenEvent({
      pathname: '/proc/812/mem',
      flags: 0,
      procmemGuard: {
        procfsMem: true,
        targetPid: 812,
        targetTid: 812,
        flagsSource: 'kernel',
        backend: 'ebpf',
        target: {
          pid: 812,
          tid: 812,
          comm: 'sshd \u001b"x"',
          exe: '/usr/sbin/sshd',
          uid: 0,
          containerId: 'a'.repeat(64),
          startTime: 18446744073709551615n,
          relation: 'unrelated',
        },
        parentExe: '/usr/bin/bash',
      },
    }),
  ),
  serializeEvent(
    createSecurityFileOpenEvent({
      pathname: '/proc/9/mem',
      flags: 0,
      procmemGuard: { procfsMem: true, flagsSource: 'fdinfo', target: { pid: 9, tid: 9 } },
    }),
  ),
];

describe('Tracee layout reader', () => {
  it('reads Tracee lines exactly as the general path does', () => {
    let accepted = 0;
    for (const line of validLines) {
      const fast = readTraceeLayout(line);
      if (fast === undefined) continue;
      accepted++;
      expect(fast).toEqual(general(line));
      expect(Object.keys(fast)).toEqual(Object.keys(general(line) as object));
      expect(serializeEvent(fast)).toBe(serializeEvent(general(line) as never));
    }
    // All but the two other event names of the sample.
    expect(accepted).toBe(validLines.length - 2);
  });

  it('declines other event names, other layouts and lines needing interpretation', () => {
    forgetLayout();
    for (const line of [
      sample[4] as string, // openat
      traceeLine().replace('"processName":"dd"', '"processName":"d\\x"'), // invalid escape
      traceeLine().replace('"processName":"dd"', '"processName":"d\\u12"'),
      traceeLine().replace('"processorId":3', '"processorId":3.0'),
      traceeLine().replace('"processorId":3', '"processorId":03'),
      traceeLine().replace('"processorId":3', '"processorId":1e0'),
      traceeLine().replace('"eventId":"732"', '"eventId":732'),
      traceeLine().replace('"eventId":"732"', '"eventId":"-0"'),
      traceeLine().replace('"eventId":"732"', '"eventId":"12345678901"'),
      traceeLine({ flags: 'O_RDONLY|O_BOGUS' }),
      traceeLine({ timestamp: '-1' }),
      traceeLine({ timestamp: '18446744073709551616' }),
      traceeLine({ processId: -7 }),
      traceeLine().replace(
        '"inode","type":"unsigned long","value":18446744073709551557',
        '"inode","type":"unsigned long","value":-5',
      ),
      `${traceeLine()} `,
      ` ${traceeLine()}`,
      JSON.stringify(JSON.parse(traceeLine()), null, 1),
    ]) {
      expect(readTraceeLayout(line), line.slice(0, 120)).toBeUndefined();
    }
  });

  it.each(['compact', 'spaced', 'sorted', 'tabs and newlines'])(
    'never accepts a corrupted %s line the general path would reject or read differently',
    (layoutName) => {
      // Deterministic fuzz: single-character edits of valid lines.
      const layout = LAYOUTS[layoutName] as (typeof LAYOUTS)[string];
      const lines = validLines.map((line) => relayout(line, layout));
      let seed = 12345;
      const random = (n: number) => {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        return seed % n;
      };
      const alphabet = '{}[]":,0123456789-.eE \\tnulrsfa\u0000\u001f\u00e9\n\r\t\u00a0';
      let accepted = 0;
      for (let i = 0; i < 3000; i++) {
        const base = lines[i % lines.length] as string;
        // Learn the line's layout from it clean, as replay learns from the lines it reads.
        forgetLayout();
        parseEventLine(base, 1);
        const at = random(base.length);
        const char = alphabet[random(alphabet.length)] as string;
        const edit = random(3);
        const line =
          edit === 0
            ? base.slice(0, at) + char + base.slice(at + 1)
            : edit === 1
              ? base.slice(0, at) + base.slice(at + 1)
              : base.slice(0, at) + char + base.slice(at);
        const fast = readTraceeLayout(line);
        if (fast === undefined) continue;
        accepted++;
        const reference = general(line);
        expect(reference, line).toBeDefined();
        expect(fast, line).toEqual(reference);
      }
      expect(accepted).toBeGreaterThan(100); // the fuzz did exercise accepted lines
    },
  );

  it.each(Object.keys(LAYOUTS))(
    'replay reads the %s layout as the general path does, learned lines by the fast reader',
    (layoutName) => {
      const layout = LAYOUTS[layoutName] as (typeof LAYOUTS)[string];
      forgetLayout();
      const lines = validLines.map((line) => relayout(line, layout));
      let fastAccepted = 0;
      for (let pass = 0; pass < 2; pass++) {
        for (const line of lines) {
          const replayed = parseEventLine(line, 1);
          const reference = parseEventLineGeneral(line, 1);
          expect(replayed).toEqual(reference);
          if (replayed.ok && reference.ok) {
            expect(serializeEvent(replayed.event)).toBe(serializeEvent(reference.event));
            // Relaid out or not, the event is the one the compact line holds.
            expect(serializeEvent(replayed.event)).toBe(
              serializeEvent(general(relayout(line, {})) as never),
            );
          }
          const fast = readTraceeLayout(line);
          if (fast !== undefined) {
            fastAccepted++;
            expect(fast).toEqual(general(line));
            expect(Object.keys(fast)).toEqual(Object.keys(general(line) as object));
          }
        }
      }
      expect(fastAccepted).toBeGreaterThan(0);
    },
  );

  it('learns layouts with unknown fields, whose values it reads as the general path does', () => {
    const unknown =
      '"note": "x\\u00e9\\/", "big": -12345678901234567890, "f": 1.5e3, "t": true, "z": null, ' +
      '"o": {"a": 18446744073709551615, "b": "c"}, "l": [1, "x", null], "__proto__": {"x": 1}, ';
    for (const layout of [LAYOUTS.spaced, LAYOUTS.sorted]) {
      forgetLayout();
      const lines = validLines.map((line) =>
        relayout(line, layout as never).replace(/^\{ ?/, (open) => `${open}${unknown}`),
      );
      let fastAccepted = 0;
      for (let pass = 0; pass < 2; pass++) {
        for (const line of lines) {
          const replayed = parseEventLine(line, 1);
          expect(replayed).toEqual(parseEventLineGeneral(line, 1));
          const fast = readTraceeLayout(line);
          if (fast === undefined) continue;
          fastAccepted++;
          expect(fast).toEqual(general(line));
          expect(fast.extra?.big).toBe(-12345678901234567890n);
          expect(Object.keys(fast.extra ?? {})).toEqual(Object.keys(general(line)?.extra ?? {}));
          expect(Object.getPrototypeOf(fast.extra)).toBe(Object.prototype);
        }
      }
      expect(fastAccepted).toBeGreaterThan(0);
    }
    // Nested deeper than one level: the general path reads it.
    forgetLayout();
    const deep = traceeLine().replace('{', '{"deep":{"a":[1]},');
    expect(parseEventLine(deep, 1).ok).toBe(true);
    expect(readTraceeLayout(deep)).toBeUndefined();
  });

  it('declines, never throws, when the regex engine runs out of backtrack stack', () => {
    forgetLayout();
    const learnFrom = traceeLine().replace('{', '{"u":[1],');
    expect(parseEventLine(learnFrom, 1).ok).toBe(true);
    const huge = learnFrom.replace('"u":[1]', `"u":[${'1,'.repeat(1_900_000)}1]`);
    const policies = traceeLine().replace(
      '"matchedPolicies":[""]',
      `"matchedPolicies":[${'"",'.repeat(1_300_000)}""]`,
    );
    for (const line of [huge, policies]) {
      expect(() => readTraceeLayout(line)).not.toThrow();
      expect(parseEventLine(line, 1)).toEqual(parseEventLineGeneral(line, 1));
      expect(parseEventLine(line, 1).ok).toBe(true);
    }
  });

  it('stays linear on long and pathological lines', () => {
    const long = traceeLine({ pathname: `/proc/1/${'d/'.repeat(1_000_000)}mem` });
    const unterminated = traceeLine().replace(
      '"processName":"dd"',
      `"processName":"${'x'.repeat(2_000_000)}`,
    );
    forgetLayout();
    const spaced = relayout(traceeLine(), LAYOUTS.spaced as never);
    expect(parseEventLine(spaced, 1).ok).toBe(true); // learned
    const wideGaps = spaced.replace(/, /g, `,${' '.repeat(100_000)}`);
    const wideGapBroken = spaced.replace('": ', `": ${' '.repeat(2_000_000)}x`);
    const gap = ' '.repeat(1_000_000);
    const emptyListGap = spaced.replace(
      /"matchedPolicies": \[[^\]]*\]/,
      `"matchedPolicies": [${gap}x]`,
    );
    expect(emptyListGap.length).toBeGreaterThan(gap.length);
    const started = performance.now();
    expect(readTraceeLayout(long)).toEqual(general(long));
    expect(readTraceeLayout(unterminated)).toBeUndefined();
    expect(readTraceeLayout(wideGaps)).toEqual(general(wideGaps));
    expect(readTraceeLayout(wideGapBroken)).toBeUndefined();
    expect(readTraceeLayout(emptyListGap)).toBeUndefined();
    forgetLayout();
    const withUnknown = spaced.replace('{', '{"u": {"a": 1}, ');
    expect(withUnknown).not.toBe(spaced);
    expect(parseEventLine(withUnknown, 1).ok).toBe(true); // learned, with an unknown field
    expect(readTraceeLayout(withUnknown.replace('{"a": 1}', `{${gap}x`))).toBeUndefined();
    expect(readTraceeLayout(withUnknown.replace('{"a": 1}', `[${gap}"${gap}`))).toBeUndefined();
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
