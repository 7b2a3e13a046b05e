// Policy files (src/policy/load.ts, check.ts): the issue's shape is read as written, files are
// read safely, and a plain object is checked the same way (errors: policy-errors.test.ts).

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  isPolicy,
  loadPolicy,
  parsePolicy,
  policyFromObject,
  requireSignatures,
} from '../src/policy/load.js';
import { POLICY_LIMITS, PolicyError } from '../src/policy/types.js';
import { thrown } from './policy-helpers.js';

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
    expect(() => loadPolicy(bad)).toThrow(
      `${bad}:4:13: exceptions[0].action: expected suppress or annotate, got "maybe"`,
    );
  });

  it.each([
    ['a missing file', () => join(dir, 'nope.yaml'), /cannot read: ENOENT/],
    [
      'a directory',
      () => {
        mkdirSync(join(dir, 'd'), { recursive: true });
        return join(dir, 'd');
      },
      /not a regular file/,
    ],
    [
      'bytes that are not UTF-8',
      () => file('bin.yaml', Buffer.from([0x76, 0xff, 0xfe, 0x0a])),
      /not UTF-8 text/,
    ],
    [
      'a file over the size limit',
      () => file('big.yaml', `# ${'x'.repeat(POLICY_LIMITS.fileBytes)}\n`),
      /larger than 1048576 bytes/,
    ],
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
    const error = thrown(() => loadPolicy(path), PolicyError);
    expect(error.message).toMatch(message);
    expect(error.source).toBe(path);
  });

  it('a policy file in the repository stays readable text (docs/policies)', () => {
    const text = readFileSync(
      new URL('../docs/policies/legitimate-openers.yaml', import.meta.url),
      'utf8',
    );
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
    [
      { version: 1, exceptions: [{ name: 'a', opener: { exe: 'x' }, action: 'annotate' }] },
      'options.policy: exceptions[0].opener.exe: expected a list',
    ],
    [
      { version: 1, exceptions: [{ name: 'a', opener: { uid: [0n] }, action: 'annotate' }] },
      'options.policy: exceptions[0].opener.uid[0]: expected a numeric uid',
    ],
    [{ version: 1, extra: true }, 'options.policy: extra: unknown key'],
    [{ exceptions: [] }, 'options.policy: version: missing'],
    [[], 'options.policy: expected an object with version: 1'],
  ])('refuses object %# naming the field', (spec, message) => {
    expect(() => policyFromObject(spec)).toThrow(message);
  });
});
