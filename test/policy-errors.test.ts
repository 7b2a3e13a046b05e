// Policy files: every kind of error names the file, line, column and field
// (src/policy/check.ts, load.ts), and the limits are enforced.
import { describe, expect, it } from 'vitest';
import { parsePolicy, requireSignatures } from '../src/policy/load.js';
import { POLICY_LIMITS, PolicyError } from '../src/policy/types.js';
import { thrown } from './policy-helpers.js';

const policyError = (text: string) => thrown(() => parsePolicy(text, 'p.yaml'), PolicyError);

// Each row: the text, line, column, field, and the reason's pattern.
const X = 'version: 1\nexceptions:\n'; // exceptions start on line 3
describe('parsePolicy: every error names file, line, column and field', () => {
  it.each([
    ['a YAML syntax error', 'version: 1\nexceptions: [\n', 3, 1, undefined, /./],
    ['a duplicate key', 'version: 1\nversion: 1\n', 2, 1, undefined, /unique/i],
    ['two documents', 'version: 1\n---\nversion: 1\n', 2, 1, undefined, /multiple documents/i],
    ['an empty file', '', 1, 1, undefined, /empty policy/],
    [
      'a list at the top',
      '- version: 1\n',
      1,
      1,
      undefined,
      /expected a mapping with version, exceptions, got a list/,
    ],
    ['no version', 'exceptions: []\n', 1, 1, 'version', /missing/],
    ['version 2', 'version: 2\n', 1, 10, 'version', /unsupported version 2/],
    ['version as a string', 'version: "1"\n', 1, 10, 'version', /unsupported version "1"/],
    [
      'an unknown top key',
      'version: 1\nexception: []\n',
      2,
      1,
      'exception',
      /did you mean exceptions\?/,
    ],
    ['dedup not a mapping', 'version: 1\ndedup: 60s\n', 2, 8, 'dedup', /expected a mapping/],
    [
      'dedup without window',
      'version: 1\ndedup: { maxKeys: 5 }\n',
      2,
      8,
      'dedup.window',
      /missing/,
    ],
    [
      'a bare number window',
      'version: 1\ndedup: { window: 60 }\n',
      2,
      18,
      'dedup.window',
      /with a unit/,
    ],
    [
      'a bad duration',
      'version: 1\ndedup: { window: 60 s }\n',
      2,
      18,
      'dedup.window',
      /not a duration/,
    ],
    [
      'a zero window',
      'version: 1\ndedup: { window: 0s }\n',
      2,
      18,
      'dedup.window',
      /between 1ms and 24h/,
    ],
    [
      'a window over a day',
      'version: 1\ndedup: { window: 25h }\n',
      2,
      18,
      'dedup.window',
      /between/,
    ],
    [
      'maxKeys 0',
      'version: 1\ndedup: { window: 1s, maxKeys: 0 }\n',
      2,
      31,
      'dedup.maxKeys',
      /whole number from 1/,
    ],
    [
      'an unknown dedup key',
      'version: 1\ndedup: { window: 1s, windw: 2s }\n',
      2,
      22,
      'dedup.windw',
      /did you mean window\?/,
    ],
    ['exceptions not a list', `${X}  name: a\n`, 3, 3, 'exceptions', /expected a list/],
    ['an exception not a mapping', `${X}  - gdb\n`, 3, 5, 'exceptions[0]', /expected a mapping/],
    ['no name', `${X}  - action: annotate\n`, 3, 5, 'exceptions[0].name', /missing/],
    [
      'a bad name',
      `${X}  - name: "gdb rules!"\n    action: annotate\n`,
      3,
      11,
      'exceptions[0].name',
      /is not a name/,
    ],
    [
      'a numeric name',
      `${X}  - name: 12\n    action: annotate\n`,
      3,
      11,
      'exceptions[0].name',
      /expected a string, got number 12/,
    ],
    [
      'a duplicate name',
      `${X}  - name: a\n    action: annotate\n  - name: a\n    action: annotate\n`,
      5,
      5,
      'exceptions[1].name',
      /duplicate name "a" \(first at line 3\)/,
    ],
    [
      'an unknown exception key',
      `${X}  - name: a\n    signature: [TRC-1023]\n    action: annotate\n`,
      4,
      5,
      'exceptions[0].signature',
      /did you mean signatures\?/,
    ],
    [
      'signatures not a list',
      `${X}  - name: a\n    signatures: TRC-1023\n    action: annotate\n`,
      4,
      17,
      'exceptions[0].signatures',
      /expected a list/,
    ],
    [
      'a bad signature id',
      `${X}  - name: a\n    signatures: ["TRC 1023"]\n    action: annotate\n`,
      4,
      18,
      'exceptions[0].signatures[0]',
      /not a signature id/,
    ],
    [
      'a bad access',
      `${X}  - name: a\n    access: [read, exec]\n    action: annotate\n`,
      4,
      20,
      'exceptions[0].access[1]',
      /expected one of read, write, got "exec"/,
    ],
    [
      'a duplicate list entry',
      `${X}  - name: a\n    access: [read, read]\n    action: annotate\n`,
      4,
      20,
      'exceptions[0].access[1]',
      /duplicate entry "read"/,
    ],
    [
      'an unknown opener key',
      `${X}  - name: a\n    opener: { path: [/x] }\n    action: annotate\n`,
      4,
      15,
      'exceptions[0].opener.path',
      /expected exe, comm, uid, parentExe, container/,
    ],
    [
      'opener not a mapping',
      `${X}  - name: a\n    opener: [/usr/bin/gdb]\n    action: annotate\n`,
      4,
      13,
      'exceptions[0].opener',
      /expected a mapping/,
    ],
    [
      'a relative exe',
      `${X}  - name: a\n    opener: { exe: [gdb] }\n    action: annotate\n`,
      4,
      21,
      'exceptions[0].opener.exe[0]',
      /bad glob "gdb" at character 1: .*absolute path/,
    ],
    [
      'an unclosed class',
      `${X}  - name: a\n    opener: { exe: ["/usr/bin/[gdb"] }\n    action: annotate\n`,
      4,
      21,
      'exceptions[0].opener.exe[0]',
      /at character 10: unclosed \[ class/,
    ],
    [
      'braces in a glob',
      `${X}  - name: a\n    opener: { parentExe: ["/usr/bin/{a,b}"] }\n    action: annotate\n`,
      4,
      27,
      'exceptions[0].opener.parentExe[0]',
      /braces are not supported/,
    ],
    [
      'a target exe glob',
      `${X}  - name: a\n    target: { exe: ["/opt/a**"] }\n    action: annotate\n`,
      4,
      21,
      'exceptions[0].target.exe[0]',
      /whole path segment/,
    ],
    [
      'a comm over 15 bytes',
      `${X}  - name: a\n    opener: { comm: [chrome_crashpad_handler] }\n    action: annotate\n`,
      4,
      22,
      'exceptions[0].opener.comm[0]',
      /can never match: a comm is 1 to 15 bytes/,
    ],
    [
      'a numeric comm',
      `${X}  - name: a\n    target: { comm: [123] }\n    action: annotate\n`,
      4,
      22,
      'exceptions[0].target.comm[0]',
      /expected a string, got number 123 \(quote it\)/,
    ],
    [
      'a negative uid',
      `${X}  - name: a\n    opener: { uid: [-1] }\n    action: annotate\n`,
      4,
      21,
      'exceptions[0].opener.uid[0]',
      /numeric uid from 0 to 4294967294/,
    ],
    [
      'a user name as uid',
      `${X}  - name: a\n    opener: { uid: [root] }\n    action: annotate\n`,
      4,
      21,
      'exceptions[0].opener.uid[0]',
      /user names are not looked up/,
    ],
    [
      'a fractional uid',
      `${X}  - name: a\n    target: { uid: [1.5] }\n    action: annotate\n`,
      4,
      21,
      'exceptions[0].target.uid[0]',
      /numeric uid/,
    ],
    [
      'a bad container',
      `${X}  - name: a\n    opener: { container: docker }\n    action: annotate\n`,
      4,
      26,
      'exceptions[0].opener.container',
      /host, any, or a container id prefix/,
    ],
    [
      'an upper-case container id',
      `${X}  - name: a\n    opener: { container: ABCDEF012345 }\n    action: annotate\n`,
      4,
      26,
      'exceptions[0].opener.container',
      /lowercase hex/,
    ],
    [
      'a short container prefix',
      `${X}  - name: a\n    opener: { container: abc }\n    action: annotate\n`,
      4,
      26,
      'exceptions[0].opener.container',
      /12 to 64/,
    ],
    [
      'a bad relation',
      `${X}  - name: a\n    relation: [parent]\n    action: annotate\n`,
      4,
      16,
      'exceptions[0].relation[0]',
      /expected one of self, ancestor, descendant, unrelated/,
    ],
    [
      'no action',
      `${X}  - name: a\n    opener: { uid: [0] }\n`,
      3,
      5,
      'exceptions[0].action',
      /missing/,
    ],
    [
      'a bad action',
      `${X}  - name: a\n    opener: { uid: [0] }\n    action: ignore\n`,
      5,
      13,
      'exceptions[0].action',
      /expected suppress or annotate, got "ignore"/,
    ],
    [
      'a suppress that narrows nothing',
      `${X}  - name: a\n    signatures: [TRC-1023]\n    action: suppress\n`,
      3,
      5,
      'exceptions[0]',
      /would suppress every finding of its signatures/,
    ],
    ['an unknown alias', 'version: 1\nexceptions: *nothing\n', 2, 13, undefined, /./],
  ])('%s', (_what, text, line, column, field, reason) => {
    const e = policyError(text);
    expect({ source: e.source, line: e.line, column: e.column, field: e.field }).toEqual({
      source: 'p.yaml',
      line,
      column,
      field,
    });
    expect(e.reason).toMatch(reason);
    expect(e.message).toBe(`p.yaml:${line}:${column}: ${field ? `${field}: ` : ''}${e.reason}`);
  });

  it('escapes what it quotes: a hostile value cannot rewrite the terminal', () => {
    const e = policyError(`${X}  - name: "a\u202e\u001b[2Jb"\n    action: annotate\n`);
    expect(e.reason).toContain('"a\\u202e\\u001b[2Jb" is not a name');
    expect(e.message.includes('\u001b') || e.message.includes('\u202e')).toBe(false);
  });

  it('refuses a list longer than the limit, naming the limit', () => {
    const uids = Array.from({ length: POLICY_LIMITS.listEntries + 1 }, (_, i) => i).join(', ');
    const e = policyError(
      `${X}  - name: a\n    opener: { uid: [${uids}] }\n    action: annotate\n`,
    );
    expect([e.line, e.field]).toEqual([4, 'exceptions[0].opener.uid']);
    expect(e.reason).toMatch(/257 entries; at most 256/);
  });

  it('refuses more exceptions than the limit', () => {
    const one = (i: number) => `  - name: e${i}\n    opener: { uid: [0] }\n    action: annotate\n`;
    const text =
      X + Array.from({ length: POLICY_LIMITS.exceptions + 1 }, (_, i) => one(i)).join('');
    expect(policyError(text).reason).toMatch(/1001 entries; at most 1000/);
  });

  it('caps aliases (a billion-laughs file stops early)', () => {
    const bomb = ['version: 1', 'exceptions:'];
    for (let i = 0; i < 120; i++)
      bomb.push(
        `  - name: e${i}`,
        `    opener: { comm: ${i === 0 ? '&c [x]' : '*c'} }`,
        '    action: annotate',
      );
    expect(policyError(`${bomb.join('\n')}\n`).reason).toMatch(/more than 100 aliases/);
  });

  it('names the signatures a policy refers to that are not running', () => {
    const p = parsePolicy(
      `${X}  - name: a\n    signatures: [TRC-1032]\n    opener: { uid: [0] }\n    action: suppress\n`,
      'p.yaml',
    );
    expect(() => requireSignatures(p, ['TRC-1023', 'TRC-1024'])).toThrow(
      'p.yaml:3:5: exceptions[0].signatures: no signature "TRC-1032" is running (running: TRC-1023, TRC-1024)',
    );
  });
});
