// Policy files (src/policy/load.ts, check.ts): the issue's shape is read as written; every
// kind of error names the file, line, column and field; a plain object is checked the same way.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  isPolicy,
  loadPolicy,
  parsePolicy,
  policyFromObject,
  requireSignatures,
} from '../src/policy/load.js';
import { PolicyError, POLICY_LIMITS } from '../src/policy/types.js';

const ISSUE_EXAMPLE = `version: 1
dedup: { window: 60s }          # optional
exceptions:
  - name: gdb-on-its-own-inferiors
    signatures: [TRC-1023, TRC-1024]   # default: every signature
    access: [read, write]              # default: both
    opener: { exe: [/usr/bin/gdb], comm: [], uid: [], parentExe: [], container: host }
    target: { exe: [], comm: [], uid: [] }
    relation: [ancestor]
    action: suppress                   # or annotate: keep the finding, add the exception name to it
`;

function policyError(text: string): PolicyError {
  try {
    parsePolicy(text, 'p.yaml');
  } catch (err) {
    if (err instanceof PolicyError) return err;
    throw err;
  }
  throw new Error('expected a PolicyError');
}

describe('parsePolicy: the issue shape', () => {
  it('reads the example of the issue as written', () => {
    const p = parsePolicy(ISSUE_EXAMPLE, 'p.yaml');
    expect(p.source).toBe('p.yaml');
    expect(p.dedup).toEqual({ windowMs: 60_000, maxKeys: POLICY_LIMITS.defaultMaxKeys });
    expect(p.exceptions).toHaveLength(1);
    const e = p.exceptions[0];
    expect(e?.name).toBe('gdb-on-its-own-inferiors');
    expect(e?.signatures).toEqual(['TRC-1023', 'TRC-1024']);
    expect(e?.access).toEqual(['read', 'write']);
    expect(e?.opener.exe?.map((g) => g.source)).toEqual(['/usr/bin/gdb']);
    // Empty lists set no condition.
    expect(e?.opener.comm).toBeNull();
    expect(e?.opener.uid).toBeNull();
    expect(e?.opener.parentExe).toBeNull();
    expect(e?.opener.container).toBe('host');
    expect(e?.target).toEqual({ exe: null, comm: null, uid: null });
    expect(e?.relation).toEqual(['ancestor']);
    expect(e?.action).toBe('suppress');
    expect([e?.line, e?.column]).toEqual([4, 5]);
    expect(isPolicy(p)).toBe(true);
    expect(Object.isFrozen(p.exceptions[0]?.opener)).toBe(true);
  });

  it('defaults: every signature, both accesses, any container; no dedup, no exceptions', () => {
    const p = parsePolicy(
      'version: 1\nexceptions:\n  - name: a\n    opener: { uid: [1000] }\n    action: annotate\n',
    );
    const e = p.exceptions[0];
    expect(e?.signatures).toBeNull();
    expect(e?.access).toEqual(['read', 'write']);
    expect(e?.opener.container).toBe('any');
    expect(e?.relation).toBeNull();
    expect(parsePolicy('version: 1\n')).toMatchObject({ dedup: null, exceptions: [] });
  });

  it.each([
    ['1500ms', 1500],
    ['90s', 90_000],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['24h', 86_400_000],
  ])('dedup window %s is %d ms', (window, ms) => {
    expect(parsePolicy(`version: 1\ndedup: { window: ${window}, maxKeys: 10 }\n`).dedup).toEqual({
      windowMs: ms,
      maxKeys: 10,
    });
  });

  it('follows YAML aliases (one list shared by several exceptions)', () => {
    const p = parsePolicy(
      [
        'version: 1',
        'exceptions:',
        '  - name: a',
        '    opener: { exe: &gdb [/usr/bin/gdb, /usr/libexec/gdb] }',
        '    action: suppress',
        '  - name: b',
        '    opener: { exe: *gdb, uid: [0] }',
        '    action: annotate',
      ].join('\n'),
    );
    expect(p.exceptions[1]?.opener.exe?.map((g) => g.source)).toEqual([
      '/usr/bin/gdb',
      '/usr/libexec/gdb',
    ]);
  });

  it('accepts the shipped example policy (docs/policies)', () => {
    const file = new URL('../docs/policies/legitimate-openers.yaml', import.meta.url).pathname;
    const p = loadPolicy(file);
    requireSignatures(p, ['TRC-1023', 'TRC-1024']);
    expect(p.exceptions.map((e) => e.name)).toContain('gdb-on-its-own-inferiors');
    const gdb = p.exceptions.find((e) => e.name === 'gdb-on-its-own-inferiors');
    expect(gdb?.relation).toEqual(['ancestor']);
    expect(gdb?.action).toBe('suppress');
    // Every suppress entry is narrowed by its opener's executable.
    for (const e of p.exceptions) expect(e.opener.exe).not.toBeNull();
  });
});

// Each row: the text, line, column, field, and the reason's pattern.
const X = 'version: 1\nexceptions:\n'; // exceptions start on line 3
describe('parsePolicy: every error names file, line, column and field', () => {
  it.each([
    ['a YAML syntax error', 'version: 1\nexceptions: [\n', 3, 1, undefined, /./],
    ['a duplicate key', 'version: 1\nversion: 1\n', 2, 1, undefined, /unique/i],
    ['two documents', 'version: 1\n---\nversion: 1\n', 2, 1, undefined, /multiple documents/i],
    ['an empty file', '', 1, 1, undefined, /empty policy/],
    ['a list at the top', '- version: 1\n', 1, 1, undefined, /expected a mapping, got a list/],
    ['no version', 'exceptions: []\n', 1, 1, 'version', /missing/],
    ['version 2', 'version: 2\n', 1, 10, 'version', /unsupported version 2/],
    ['version as a string', 'version: "1"\n', 1, 10, 'version', /unsupported version "1"/],
    ['an unknown top key', 'version: 1\nexception: []\n', 2, 1, 'exception', /did you mean exceptions\?/],
    ['dedup not a mapping', 'version: 1\ndedup: 60s\n', 2, 8, 'dedup', /expected a mapping/],
    ['dedup without window', 'version: 1\ndedup: { maxKeys: 5 }\n', 2, 8, 'dedup.window', /missing/],
    ['a bare number window', 'version: 1\ndedup: { window: 60 }\n', 2, 18, 'dedup.window', /with a unit/],
    ['a bad duration', 'version: 1\ndedup: { window: 60 s }\n', 2, 18, 'dedup.window', /not a duration/],
    ['a zero window', 'version: 1\ndedup: { window: 0s }\n', 2, 18, 'dedup.window', /between 1ms and 24h/],
    ['a window over a day', 'version: 1\ndedup: { window: 25h }\n', 2, 18, 'dedup.window', /between/],
    ['maxKeys 0', 'version: 1\ndedup: { window: 1s, maxKeys: 0 }\n', 2, 31, 'dedup.maxKeys', /whole number from 1/],
    ['an unknown dedup key', 'version: 1\ndedup: { window: 1s, windw: 2s }\n', 2, 22, 'dedup.windw', /did you mean window\?/],
    ['exceptions not a list', `${X}  name: a\n`, 3, 3, 'exceptions', /expected a list/],
    ['an exception not a mapping', `${X}  - gdb\n`, 3, 5, 'exceptions[0]', /expected a mapping/],
    ['no name', `${X}  - action: annotate\n`, 3, 5, 'exceptions[0].name', /missing/],
    ['a bad name', `${X}  - name: "gdb rules!"\n    action: annotate\n`, 3, 11, 'exceptions[0].name', /is not a name/],
    ['a numeric name', `${X}  - name: 12\n    action: annotate\n`, 3, 11, 'exceptions[0].name', /expected a string, got number 12/],
    [
      'a duplicate name',
      `${X}  - name: a\n    action: annotate\n  - name: a\n    action: annotate\n`,
      5,
      5,
      'exceptions[1].name',
      /duplicate name "a" \(first at line 3\)/,
    ],
    ['an unknown exception key', `${X}  - name: a\n    signature: [TRC-1023]\n    action: annotate\n`, 4, 5, 'exceptions[0].signature', /did you mean signatures\?/],
    ['signatures not a list', `${X}  - name: a\n    signatures: TRC-1023\n    action: annotate\n`, 4, 17, 'exceptions[0].signatures', /expected a list/],
    ['a bad signature id', `${X}  - name: a\n    signatures: ["TRC 1023"]\n    action: annotate\n`, 4, 18, 'exceptions[0].signatures[0]', /not a signature id/],
    ['a bad access', `${X}  - name: a\n    access: [read, exec]\n    action: annotate\n`, 4, 20, 'exceptions[0].access[1]', /expected one of read, write, got "exec"/],
    ['a duplicate list entry', `${X}  - name: a\n    access: [read, read]\n    action: annotate\n`, 4, 20, 'exceptions[0].access[1]', /duplicate entry "read"/],
    ['an unknown opener key', `${X}  - name: a\n    opener: { path: [/x] }\n    action: annotate\n`, 4, 15, 'exceptions[0].opener.path', /expected exe, comm, uid, parentExe, container/],
    ['opener not a mapping', `${X}  - name: a\n    opener: [/usr/bin/gdb]\n    action: annotate\n`, 4, 13, 'exceptions[0].opener', /expected a mapping/],
    ['a relative exe', `${X}  - name: a\n    opener: { exe: [gdb] }\n    action: annotate\n`, 4, 21, 'exceptions[0].opener.exe[0]', /bad glob "gdb" at character 1: .*absolute path/],
    ['an unclosed class', `${X}  - name: a\n    opener: { exe: ["/usr/bin/[gdb"] }\n    action: annotate\n`, 4, 21, 'exceptions[0].opener.exe[0]', /at character 10: unclosed \[ class/],
    ['braces in a glob', `${X}  - name: a\n    opener: { parentExe: ["/usr/bin/{a,b}"] }\n    action: annotate\n`, 4, 27, 'exceptions[0].opener.parentExe[0]', /braces are not supported/],
    ['a target exe glob', `${X}  - name: a\n    target: { exe: ["/opt/a**"] }\n    action: annotate\n`, 4, 21, 'exceptions[0].target.exe[0]', /whole path segment/],
    ['a comm over 15 bytes', `${X}  - name: a\n    opener: { comm: [chrome_crashpad_handler] }\n    action: annotate\n`, 4, 22, 'exceptions[0].opener.comm[0]', /can never match: a comm is 1 to 15 bytes/],
    ['a numeric comm', `${X}  - name: a\n    target: { comm: [123] }\n    action: annotate\n`, 4, 22, 'exceptions[0].target.comm[0]', /expected a string, got number 123 \(quote it\)/],
    ['a negative uid', `${X}  - name: a\n    opener: { uid: [-1] }\n    action: annotate\n`, 4, 21, 'exceptions[0].opener.uid[0]', /numeric uid from 0 to 4294967294/],
    ['a user name as uid', `${X}  - name: a\n    opener: { uid: [root] }\n    action: annotate\n`, 4, 21, 'exceptions[0].opener.uid[0]', /user names are not looked up/],
    ['a fractional uid', `${X}  - name: a\n    target: { uid: [1.5] }\n    action: annotate\n`, 4, 21, 'exceptions[0].target.uid[0]', /numeric uid/],
    ['a bad container', `${X}  - name: a\n    opener: { container: docker }\n    action: annotate\n`, 4, 26, 'exceptions[0].opener.container', /host, any, or a container id prefix/],
    ['an upper-case container id', `${X}  - name: a\n    opener: { container: ABCDEF012345 }\n    action: annotate\n`, 4, 26, 'exceptions[0].opener.container', /lowercase hex/],
    ['a short container prefix', `${X}  - name: a\n    opener: { container: abc }\n    action: annotate\n`, 4, 26, 'exceptions[0].opener.container', /12 to 64/],
    ['a bad relation', `${X}  - name: a\n    relation: [parent]\n    action: annotate\n`, 4, 16, 'exceptions[0].relation[0]', /expected one of self, ancestor, descendant, unrelated/],
    ['no action', `${X}  - name: a\n    opener: { uid: [0] }\n`, 3, 5, 'exceptions[0].action', /missing/],
    ['a bad action', `${X}  - name: a\n    opener: { uid: [0] }\n    action: ignore\n`, 5, 13, 'exceptions[0].action', /expected suppress or annotate, got "ignore"/],
    ['a suppress that narrows nothing', `${X}  - name: a\n    signatures: [TRC-1023]\n    action: suppress\n`, 3, 5, 'exceptions[0]', /would suppress every finding of its signatures/],
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

  it('refuses a list longer than the limit, naming the limit', () => {
    const uids = Array.from({ length: POLICY_LIMITS.listEntries + 1 }, (_, i) => i).join(', ');
    const e = policyError(`${X}  - name: a\n    opener: { uid: [${uids}] }\n    action: annotate\n`);
    expect([e.line, e.field]).toEqual([4, 'exceptions[0].opener.uid']);
    expect(e.reason).toMatch(/257 entries; at most 256/);
  });

  it('refuses more exceptions than the limit', () => {
    const one = (i: number) => `  - name: e${i}\n    opener: { uid: [0] }\n    action: annotate\n`;
    const text = X + Array.from({ length: POLICY_LIMITS.exceptions + 1 }, (_, i) => one(i)).join('');
    expect(policyError(text).reason).toMatch(/1001 entries; at most 1000/);
  });

  it('caps aliases (a billion-laughs file stops early)', () => {
    const bomb = ['version: 1', 'exceptions:'];
    for (let i = 0; i < 120; i++)
      bomb.push(`  - name: e${i}`, `    opener: { comm: ${i === 0 ? '&c [x]' : '*c'} }`, '    action: annotate');
    expect(policyError(`${bomb.join('\n')}\n`).reason).toMatch(/more than 100 aliases/);
  });

  it('names the signatures a policy refers to that are not running', () => {
    const p = parsePolicy(`${X}  - name: a\n    signatures: [TRC-1032]\n    opener: { uid: [0] }\n    action: suppress\n`, 'p.yaml');
    expect(() => requireSignatures(p, ['TRC-1023', 'TRC-1024'])).toThrow(
      'p.yaml:3:5: exceptions[0].signatures: no signature "TRC-1032" is running (running: TRC-1023, TRC-1024)',
    );
  });
});

describe('loadPolicy: files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pmg-policy-'));
  const file = (name: string, content: string | Buffer) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };

  it('reads a file and names it in errors', () => {
    expect(loadPolicy(file('ok.yaml', ISSUE_EXAMPLE)).exceptions).toHaveLength(1);
    const bad = file('bad.yaml', 'version: 1\nexceptions:\n  - name: a\n    action: maybe\n');
    expect(() => loadPolicy(bad)).toThrow(`${bad}:4:13: exceptions[0].action: expected suppress or annotate, got "maybe"`);
  });

  it.each([
    ['a missing file', () => join(dir, 'nope.yaml'), /cannot read: ENOENT/],
    ['a directory', () => (mkdirSync(join(dir, 'd'), { recursive: true }), join(dir, 'd')), /not a regular file/],
    ['bytes that are not UTF-8', () => file('bin.yaml', Buffer.from([0x76, 0xff, 0xfe, 0x0a])), /not UTF-8 text/],
    ['a file over the size limit', () => file('big.yaml', `# ${'x'.repeat(POLICY_LIMITS.fileBytes)}\n`), /larger than 1048576 bytes/],
    [
      'a FIFO (refused without waiting for a writer)',
      () => {
        const fifo = join(dir, 'fifo');
        execFileSync('mkfifo', [fifo]);
        return fifo;
      },
      /not a regular file/,
    ],
  ])('refuses %s', (_what, make, message) => {
    const path = make();
    let error: unknown;
    try {
      loadPolicy(path);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(PolicyError);
    expect((error as PolicyError).message).toMatch(message);
    expect((error as PolicyError).source).toBe(path);
  });

  it('a policy file in the repository stays readable text (docs/policies)', () => {
    const text = readFileSync(new URL('../docs/policies/legitimate-openers.yaml', import.meta.url), 'utf8');
    expect(text).toMatch(/^version: 1$/m);
  });
});

describe('policyFromObject', () => {
  it('checks a plain object exactly like the file', () => {
    const p = policyFromObject({
      version: 1,
      dedup: { window: '60s' },
      exceptions: [
        {
          name: 'gdb-on-its-own-inferiors',
          opener: { exe: ['/usr/bin/gdb'], container: 'host' },
          relation: ['ancestor'],
          action: 'suppress',
        },
      ],
    });
    const f = parsePolicy(ISSUE_EXAMPLE);
    expect(p.dedup).toEqual(f.dedup);
    expect(p.exceptions[0]?.opener.exe?.[0]?.source).toBe('/usr/bin/gdb');
    expect(p.exceptions[0]?.line).toBeUndefined();
    expect(isPolicy(p)).toBe(true);
    expect(isPolicy({ ...p })).toBe(false);
  });

  it.each([
    [{ version: 1, exceptions: [{ name: 'a', opener: { exe: 'x' }, action: 'annotate' }] }, 'options.policy: exceptions[0].opener.exe: expected a list'],
    [{ version: 1, exceptions: [{ name: 'a', opener: { uid: [0n] }, action: 'annotate' }] }, 'options.policy: exceptions[0].opener.uid[0]: expected a numeric uid'],
    [{ version: 1, extra: true }, 'options.policy: extra: unknown key'],
    [{ exceptions: [] }, 'options.policy: version: missing'],
    [[], 'options.policy: expected an object with version: 1'],
  ])('refuses %j naming the field', (spec, message) => {
    expect(() => policyFromObject(spec)).toThrow(message);
  });
});
