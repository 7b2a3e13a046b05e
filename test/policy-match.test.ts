// The matcher (src/policy/matcher.ts): within a list any entry, across fields all; a condition
// on a field the event does not carry never matches; the first suppress in file order wins.
import { describe, expect, it } from 'vitest';
import { parseEventLine } from '../src/events/reader.js';
import { parsePolicy } from '../src/policy/load.js';
import { findingFacts, PolicyMatcher } from '../src/policy/matcher.js';
import { PROC_MEM_ACCESS_METADATA } from '../src/signatures/proc_mem_access.js';
import { PROC_MEM_CODE_INJECTION_METADATA } from '../src/signatures/proc_mem_code_injection.js';
import type { Finding } from '../src/signatures/signature.js';
import { traceeLine } from './helpers.js';
import { type MemOpen, memOpen, onePolicy } from './policy-helpers.js';

const read = (o: MemOpen = {}): Finding => ({
  sigMetadata: PROC_MEM_ACCESS_METADATA,
  event: memOpen(o),
  data: null,
});
const write = (o: MemOpen = {}): Finding => ({
  sigMetadata: PROC_MEM_CODE_INJECTION_METADATA,
  event: memOpen({ flags: 1, ...o }),
  data: null,
});

function verdict(exception: string, finding: Finding): string {
  const v = new PolicyMatcher(onePolicy(exception)).match(findingFacts(finding));
  if (v.suppressedBy) return `suppress ${v.suppressedBy.name}`;
  return v.annotations.length ? `annotate ${v.annotations.join(',')}` : 'none';
}

const S = 'name: x\naction: suppress\n';

describe('one exception against one finding', () => {
  it.each([
    // exe: literal, glob, any of a list
    ['exe literal', `${S}opener: { exe: [/usr/bin/dd] }`, read(), true],
    ['exe other', `${S}opener: { exe: [/usr/bin/gdb] }`, read(), false],
    ['exe any of a list', `${S}opener: { exe: [/usr/bin/gdb, /usr/bin/dd] }`, read(), true],
    ['exe glob', `${S}opener: { exe: ["/usr/bin/d*"] }`, read(), true],
    ['exe glob and literal', `${S}opener: { exe: [/bin/x, "/usr/*/dd"] }`, read(), true],
    [
      'exe of a deleted binary',
      `${S}opener: { exe: [/usr/bin/dd] }`,
      read({ exe: '/usr/bin/dd (deleted)' }),
      false,
    ],
    ['exe unknown (empty)', `${S}opener: { exe: ["/**"] }`, read({ exe: '' }), false],
    [
      'exe possibly truncated',
      `${S}opener: { exe: ["/usr/bin/*"] }`,
      read({ notes: ['truncated'] }),
      false,
    ],
    // across fields: all must hold
    ['exe and uid', `${S}opener: { exe: [/usr/bin/dd], uid: [0] }`, read(), true],
    ['exe but not uid', `${S}opener: { exe: [/usr/bin/dd], uid: [1000] }`, read(), false],
    ['uid any of a list', `${S}opener: { uid: [1000, 0] }`, read(), true],
    ['comm', `${S}opener: { comm: [dd] }`, read(), true],
    ['comm other', `${S}opener: { comm: [cat] }`, read(), false],
    [
      'parentExe',
      `${S}opener: { parentExe: [/usr/bin/bash] }`,
      read({ parentExe: '/usr/bin/bash' }),
      true,
    ],
    [
      'parentExe glob',
      `${S}opener: { parentExe: ["/usr/bin/*sh"] }`,
      read({ parentExe: '/usr/bin/zsh' }),
      true,
    ],
    ['parentExe absent', `${S}opener: { parentExe: ["/**"] }`, read(), false],
    // container
    ['host on the host', `${S}opener: { container: host }`, read(), true],
    [
      'host in a container',
      `${S}opener: { container: host }`,
      read({ containerId: 'ab'.repeat(32) }),
      false,
    ],
    [
      'any in a container',
      `${S}opener: { container: any, uid: [0] }`,
      read({ containerId: 'ab'.repeat(32) }),
      true,
    ],
    [
      'id prefix',
      `${S}opener: { container: abababababab }`,
      read({ containerId: 'ab'.repeat(32) }),
      true,
    ],
    [
      'other id prefix',
      `${S}opener: { container: abababababac }`,
      read({ containerId: 'ab'.repeat(32) }),
      false,
    ],
    ['id prefix on the host', `${S}opener: { container: abababababab }`, read(), false],
    // signatures and access
    ['signature listed', `${S}signatures: [TRC-1023]\nopener: { uid: [0] }`, read(), true],
    ['signature not listed', `${S}signatures: [TRC-1024]\nopener: { uid: [0] }`, read(), false],
    ['read allowed, O_RDONLY', `${S}access: [read]\nopener: { uid: [0] }`, read(), true],
    ['read allowed, O_RDWR', `${S}access: [read]\nopener: { uid: [0] }`, read({ flags: 2 }), false],
    ['write allowed, O_WRONLY', `${S}access: [write]\nopener: { uid: [0] }`, write(), true],
    ['write allowed, O_RDONLY', `${S}access: [write]\nopener: { uid: [0] }`, read(), false],
    [
      'both allowed, O_RDWR',
      `${S}access: [read, write]\nopener: { uid: [0] }`,
      write({ flags: 2 }),
      true,
    ],
    // target and relation
    ['target exe', `${S}target: { exe: [/usr/bin/sleep] }`, read(), true],
    ['target exe glob', `${S}target: { exe: ["/usr/bin/sl*"] }`, read(), true],
    ['target comm', `${S}target: { comm: [sshd] }`, read({ target: { comm: 'sshd' } }), true],
    ['target uid', `${S}target: { uid: [0] }`, read(), true],
    ['target uid other', `${S}target: { uid: [1000] }`, read(), false],
    ['target info absent', `${S}target: { uid: [0] }`, read({ target: null }), false],
    [
      'target field absent',
      `${S}target: { exe: ["/**"] }`,
      read({ target: { exe: undefined } }),
      false,
    ],
    ['relation', `${S}relation: [ancestor]`, read({ target: { relation: 'ancestor' } }), true],
    [
      'relation any of',
      `${S}relation: [self, ancestor]`,
      read({ target: { relation: 'self' } }),
      true,
    ],
    [
      'relation other',
      `${S}relation: [ancestor]`,
      read({ target: { relation: 'unrelated' } }),
      false,
    ],
    [
      'relation unknown',
      `${S}relation: [unrelated]`,
      read({ target: { relation: undefined } }),
      false,
    ],
  ])('%s', (_what, exception, finding, matches) => {
    expect(verdict(exception, finding)).toBe(matches ? 'suppress x' : 'none');
  });
});

describe('several exceptions', () => {
  const policy = parsePolicy(
    [
      'version: 1',
      'exceptions:',
      '  - { name: note-dd, opener: { exe: [/usr/bin/dd] }, action: annotate }',
      '  - { name: note-root, opener: { uid: [0] }, action: annotate }',
      '  - { name: drop-sleep, target: { exe: [/usr/bin/sleep] }, action: suppress }',
      '  - { name: drop-dd, opener: { exe: [/usr/bin/dd] }, action: suppress }',
      '  - { name: note-late, opener: { uid: [0] }, action: annotate }',
    ].join('\n'),
  );
  const matcher = new PolicyMatcher(policy);
  const match = (f: Finding) => matcher.match(findingFacts(f));

  it('the first suppress in file order wins, whether indexed by exe or not', () => {
    expect(match(read()).suppressedBy?.name).toBe('drop-sleep');
    expect(match(read({ target: { exe: '/usr/sbin/sshd' } })).suppressedBy?.name).toBe('drop-dd');
  });

  it('annotations collect every matching annotate exception in file order', () => {
    const v = match(read({ exe: '/usr/bin/cat', target: { exe: '/usr/sbin/sshd' } }));
    expect(v.suppressedBy).toBeUndefined();
    expect(v.annotations).toEqual(['note-root', 'note-late']);
  });

  it('nothing matches: no suppression, no annotation', () => {
    const v = match(read({ exe: '/usr/bin/cat', uid: 1000, target: { exe: '/x' } }));
    expect(v).toEqual({ suppressedBy: undefined, annotations: [] });
  });
});

describe('replayed Tracee events (no capture mark)', () => {
  const event = parseEventLine(traceeLine({}), 1);
  if (!event.ok) throw event.error;
  const finding: Finding = {
    sigMetadata: PROC_MEM_ACCESS_METADATA,
    event: event.event,
    data: null,
  };

  it('opener conditions match; target, relation and parentExe conditions never do', () => {
    expect(verdict(`${S}opener: { exe: [/usr/bin/dd], uid: [0], comm: [dd] }`, finding)).toBe(
      'suppress x',
    );
    expect(verdict(`${S}relation: [unrelated]`, finding)).toBe('none');
    expect(verdict(`${S}target: { uid: [0] }`, finding)).toBe('none');
    expect(verdict(`${S}opener: { parentExe: ["/**"] }`, finding)).toBe('none');
  });

  it('access comes from the string form of the flags', () => {
    expect(verdict(`${S}access: [read]\nopener: { uid: [0] }`, finding)).toBe('suppress x');
  });
});
