// Property-based fuzzing of the replay reader (fast-check; bounded runs and time): it never
// throws, it reports the right line numbers, and the fast reader (Tracee's layout and the
// layouts it learns) and the general path agree on every input.

import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createSecurityFileOpenEvent } from '../src/events/build.js';
import { parseEventLine, parseEventLineGeneral } from '../src/events/reader.js';
import { forgetLayout, readTraceeLayout } from '../src/events/tracee-layout.js';
import { serializeEvent } from '../src/events/writer.js';
import {
  formatFindingJson,
  formatFindingPretty,
  formatFindingTracee,
} from '../src/output/index.js';
import { replay } from '../src/replay/replay.js';
import { PROC_MEM_ACCESS_METADATA } from '../src/signatures/proc_mem_access.js';
import { type Layout, relayout, traceeLine } from './helpers.js';

/** Bounded: each property stops after this many runs or this much time, whichever first. */
const RUNS = { numRuns: 400, interruptAfterTimeLimit: 8_000 } as const;

const sample = readFileSync(new URL('fixtures/tracee-sample.jsonl', import.meta.url), 'utf8')
  .trimEnd()
  .split('\n');

const layout: fc.Arbitrary<Layout> = fc.record({
  space: fc.constantFrom('', ' ', '  ', '\t', '\n', ' \r\n'),
  spaceBefore: fc.constantFrom('', ' ', '\n'),
  sorted: fc.boolean(),
  reversed: fc.boolean(),
  escaped: fc.boolean(),
});

const digits = (min: number, max: number) =>
  fc.integer({ min, max }).chain((n) => fc.stringMatching(new RegExp(`^-?[1-9][0-9]{${n - 1}}$`)));

/** Valid and near-valid Tracee lines: any layout, odd values in the fields that matter. */
const eventLine: fc.Arbitrary<string> = fc
  .tuple(
    fc.oneof(
      fc.constantFrom(...sample),
      fc
        .record({
          timestamp: fc.oneof(digits(1, 23), fc.constantFrom('0', '-1', '18446744073709551615')),
          ctime: digits(1, 21),
          processId: fc.integer({ min: -10, max: 2 ** 32 }),
          processName: fc.string({ unit: 'binary', maxLength: 20 }),
          pathname: fc.oneof(
            fc.constantFrom('/proc/1/mem', '/proc/self/task/2/mem'),
            fc.string({ unit: 'binary', maxLength: 30 }),
          ),
          flags: fc.oneof(
            fc.integer({ min: -1, max: 2 ** 22 }),
            fc.constantFrom('O_RDONLY', 'O_RDWR|O_CLOEXEC', 'O_WRONLY|O_BOGUS', ''),
          ),
        })
        .map((fields) => traceeLine(fields)),
      // This project's own output, with its capture mark.
      fc
        .record({
          procfsMem: fc.boolean(),
          targetPid: fc.option(fc.integer({ min: -5, max: 2 ** 31 }), { nil: undefined }),
          flagsSource: fc.constantFrom('fdinfo', 'inferred', 'syscall', 'unknown', 'tracee'),
          backend: fc.option(fc.string({ unit: 'binary', maxLength: 10 }), { nil: undefined }),
          notes: fc.option(
            fc.array(fc.string({ unit: 'binary', maxLength: 8 }), { maxLength: 3 }),
            {
              nil: undefined,
            },
          ),
          target: fc.option(
            fc
              .record({
                pid: fc.integer({ min: -5, max: 2 ** 31 }),
                tid: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
                comm: fc.option(fc.string({ unit: 'binary', maxLength: 16 }), { nil: undefined }),
                exe: fc.option(fc.string({ unit: 'binary', maxLength: 20 }), { nil: undefined }),
                uid: fc.option(fc.integer({ min: -1, max: 2 ** 32 }), { nil: undefined }),
                containerId: fc.option(fc.constantFrom('', 'ab'.repeat(32)), { nil: undefined }),
                startTime: fc.option(fc.bigInt({ min: -1n, max: 2n ** 64n }), { nil: undefined }),
                relation: fc.option(
                  fc.constantFrom('self', 'ancestor', 'descendant', 'unrelated', 'other'),
                  { nil: undefined },
                ),
              })
              .map((t) =>
                Object.fromEntries(Object.entries(t).filter(([, value]) => value !== undefined)),
              ),
            { nil: undefined },
          ),
          parentExe: fc.option(fc.string({ unit: 'binary', maxLength: 20 }), { nil: undefined }),
        })
        .map((mark) =>
          serializeEvent(
            createSecurityFileOpenEvent({
              pathname: '/proc/1/mem',
              flags: 2,
              procmemGuard: Object.fromEntries(
                Object.entries(mark).filter(([, value]) => value !== undefined),
              ) as never,
            }),
          ),
        ),
    ),
    layout,
  )
  .map(([line, how]) => relayout(line, how));

/** One edit of a line: a character replaced, deleted or inserted. */
const edited: fc.Arbitrary<string> = fc
  .tuple(eventLine, fc.nat(), fc.nat(2), fc.string({ unit: 'binary', minLength: 1, maxLength: 3 }))
  .map(([line, at, edit, text]) => {
    const i = at % (line.length + 1);
    if (edit === 0) return line.slice(0, i) + text + line.slice(i + 1);
    if (edit === 1) return line.slice(0, i) + line.slice(i + 1);
    return line.slice(0, i) + text + line.slice(i);
  });

/** Anything a line could be: events, edited events, JSON of any shape, any text. */
const anyLine: fc.Arbitrary<string> = fc.oneof(
  eventLine,
  edited,
  fc.json({ maxDepth: 4 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.constantFrom('', ' ', '\t', '{}', '[]', 'null', '"x"'),
);

describe('replay reader, property-based', () => {
  it('never throws; the fast reader and the general path agree on every line', () => {
    let fastReads = 0;
    fc.assert(
      fc.property(fc.array(anyLine, { minLength: 1, maxLength: 6 }), fc.nat(50), (raw, n) => {
        // The learned layout is state: agreement must hold whatever was learned before. Each
        // line comes twice, so that the second copy meets the layout the first one taught.
        forgetLayout();
        const lines = raw.flatMap((line) => [line, line]);
        lines.forEach((line, i) => {
          const lineNo = n + i + 1;
          const replayed = parseEventLine(line, lineNo);
          const reference = parseEventLineGeneral(line, lineNo);
          expect(replayed).toEqual(reference);
          if (!replayed.ok) expect(replayed.error.lineNo).toBe(lineNo);
          const fast = readTraceeLayout(line);
          if (fast !== undefined) {
            fastReads++;
            expect(reference.ok).toBe(true);
            if (reference.ok) expect(fast).toEqual(reference.event);
          }
        });
      }),
      RUNS,
    );
    expect(fastReads).toBeGreaterThan(50); // the fast reader was exercised
  });

  it('every event it accepts formats in every output format without throwing', () => {
    let accepted = 0;
    fc.assert(
      fc.property(fc.oneof(eventLine, edited), (line) => {
        const result = parseEventLine(line, 1);
        if (!result.ok) return; // rejected lines are the reader's business (above)
        accepted++;
        const finding = { sigMetadata: PROC_MEM_ACCESS_METADATA, event: result.event, data: null };
        for (const format of [formatFindingJson, formatFindingTracee, formatFindingPretty]) {
          expect(format(finding)).not.toContain('\n');
        }
        expect(formatFindingPretty(finding)).not.toMatch(/[\p{Cc}\p{Cf}]/u);
      }),
      RUNS,
    );
    expect(accepted).toBeGreaterThan(0); // the property saw events, not only rejections
  });

  it('replay reports malformed lines by their number, whatever the chunking', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(anyLine, { minLength: 1, maxLength: 12 }),
        fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 8 }),
        fc.boolean(),
        async (raw, cuts, crlf) => {
          // A line of the input cannot hold a newline: split what the arbitraries made.
          const lines = raw.flatMap((line) => line.split(/\r?\n/));
          const text = `${lines.join(crlf ? '\r\n' : '\n')}\n`;
          const bytes = Buffer.from(text);
          const chunks: Buffer[] = [];
          for (let pos = 0, i = 0; pos < bytes.length; i++) {
            const size = cuts[i % cuts.length] as number;
            chunks.push(bytes.subarray(pos, pos + size));
            pos += size;
          }
          forgetLayout();
          const reported: number[] = [];
          const summary = await replay(Readable.from(chunks), {
            format: 'json',
            write: () => {},
            onMalformed: (error) => reported.push(error.lineNo),
          });
          // The expected numbers, line by line, from the general path alone.
          const expected: number[] = [];
          let events = 0;
          lines.forEach((line, i) => {
            const decoded = Buffer.from(line).toString('utf8');
            const text = i === 0 && decoded.charCodeAt(0) === 0xfeff ? decoded.slice(1) : decoded;
            const result = parseEventLineGeneral(text, i + 1);
            if (result.ok) events++;
            else if (text.trim() !== '') expected.push(i + 1);
          });
          expect(reported).toEqual(expected);
          expect(summary.events).toBe(events);
          expect(summary.malformed).toBe(expected.length);
        },
      ),
      RUNS,
    );
  });
});
