// Executable globs (src/policy/glob.ts): what matches, what is refused and where, and a
// property check against a regular-expression reference on small alphabets.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileGlob, GLOB_MAX_LENGTH, GlobError } from '../src/policy/glob.js';
import { thrown } from './policy-helpers.js';

describe('compileGlob: matching', () => {
  it.each([
    ['/usr/bin/gdb', '/usr/bin/gdb', true],
    ['/usr/bin/gdb', '/usr/bin/gdb (deleted)', false],
    ['/usr/bin/gdb', '/usr/bin/gdbserver', false],
    ['/usr/bin/gdb*', '/usr/bin/gdbserver', true],
    ['/usr/bin/gdb*', '/usr/bin/gdb', true],
    ['/usr/bin/*', '/usr/bin/x/y', false],
    ['/usr/bin/*', '/usr/bin/.hidden', true],
    ['/usr/bin/python3.*', '/usr/bin/python3.11', true],
    ['/usr/bin/python3.*', '/usr/bin/python3', false],
    ['/usr/bin/python3.?', '/usr/bin/python3.9', true],
    ['/usr/bin/python3.?', '/usr/bin/python3.11', false],
    ['/usr/lib/llvm-*/bin/lldb-server', '/usr/lib/llvm-14/bin/lldb-server', true],
    ['/usr/lib/llvm-*/bin/lldb-server', '/usr/lib/llvm-14/x/bin/lldb-server', false],
    ['/opt/**/bin/tool', '/opt/bin/tool', true],
    ['/opt/**/bin/tool', '/opt/a/b/c/bin/tool', true],
    ['/opt/**/bin/tool', '/optx/bin/tool', false],
    ['/opt/app/**', '/opt/app/x', true],
    ['/opt/app/**', '/opt/app/x/y/z', true],
    ['/opt/app/**', '/opt/application/x', false],
    ['**/gdb', '/usr/bin/gdb', true],
    ['**/gdb', '/gdb', true],
    ['**/gdb', '/usr/bin/xgdb', false],
    ['/usr/bin/[gl]db', '/usr/bin/gdb', true],
    ['/usr/bin/[gl]db', '/usr/bin/ldb', true],
    ['/usr/bin/[!gl]db', '/usr/bin/gdb', false],
    ['/usr/bin/[!gl]db', '/usr/bin/edb', true],
    ['/usr/bin/[^gl]db', '/usr/bin/edb', true],
    ['/usr/bin/x[0-9]', '/usr/bin/x7', true],
    ['/usr/bin/x[0-9]', '/usr/bin/xa', false],
    ['/usr/bin/x[]]', '/usr/bin/x]', true],
    ['/usr/bin/x[a-]', '/usr/bin/x-', true],
    ['/usr/bin/\\*', '/usr/bin/*', true],
    ['/usr/bin/\\*', '/usr/bin/a', false],
    ['/usr/bin/a\\{b\\}', '/usr/bin/a{b}', true],
    ['/opt/é*', '/opt/éte', true],
    ['/opt/?', '/opt/é', true],
    ['/opt/?', '/opt/😀', true],
    ['/opt/*', '/opt/a\nb', true],
    ['/usr/bin/*', 'usr/bin/gdb', false],
  ])('%s against %j: %s', (glob, path, expected) => {
    expect(compileGlob(glob).test(path)).toBe(expected);
  });

  it('says which globs are plain paths (literal) and which are not', () => {
    expect(compileGlob('/usr/bin/gdb').literal).toBe('/usr/bin/gdb');
    expect(compileGlob('/usr/bin/a\\*').literal).toBe('/usr/bin/a*');
    expect(compileGlob('/usr/bin/gdb*').literal).toBeUndefined();
    expect(compileGlob('**/gdb').literal).toBeUndefined();
  });

  it('stays fast on a hostile path: no exponential backtracking', () => {
    const star = compileGlob(`/${'*a'.repeat(30)}b`);
    const deep = compileGlob(`/${'**/'.repeat(40)}x`);
    const segment = 'a'.repeat(255);
    const path = `/${Array.from({ length: 15 }, () => segment).join('/')}`;
    const started = process.hrtime.bigint();
    expect(star.test(`/${segment}`)).toBe(false);
    expect(deep.test(path)).toBe(false);
    // Exponential matching would take hours; a generous bound keeps this test meaningful
    // without depending on the machine's speed.
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(2000);
  });
});

describe('compileGlob: refused globs say what and where', () => {
  it.each([
    ['', 0, /empty glob/],
    ['usr/bin/gdb', 0, /absolute path/],
    ['*/gdb', 0, /absolute path/],
    ['/usr/bin/{gdb,lldb}', 9, /braces are not supported/],
    ['/usr/bin/gdb\\', 12, /trailing backslash/],
    ['/usr/bin/[gdb', 9, /unclosed \[ class/],
    ['/usr/bin/[z-a]', 12, /reversed range z-a/],
    ['/usr/bin/[a/b]', 11, /class cannot hold \//],
    ['/usr/bin/a**', 9, /\*\* must be a whole path segment/],
    ['/usr//gdb', 5, /empty path segment/],
    ['/usr/bin/', 9, /empty path segment/],
    ['/usr/../bin/gdb', 5, /"\.\." segment/],
    ['/usr/./gdb', 5, /"\." segment/],
    ['/usr/a\0b', 6, /NUL/],
    [`/${'a'.repeat(GLOB_MAX_LENGTH)}`, GLOB_MAX_LENGTH, /longer than 1024/],
  ])('%j at offset %d', (glob, offset, message) => {
    const error = thrown(() => compileGlob(glob), GlobError);
    expect(error.message).toMatch(message);
    expect(error.offset).toBe(offset);
  });
});

/** The reference: the same language as a regular expression (fine for short inputs). */
function reference(glob: string): RegExp {
  const parts = glob.split('/').map((segment) => {
    if (segment === '**') return '\u0000';
    return segment
      .replace(/[.+^${}()|\\]/g, '\\$&')
      .replace(/\*/g, '[^/]*')
      .replace(/\?/g, '[^/]');
  });
  // ** is zero or more "/segment"; every other part after the leading "" is "/part".
  const source = parts
    .map((part, i) => (i === 0 ? part : part === '\u0000' ? '(?:/[^/]*)*' : `/${part}`))
    .join('');
  return new RegExp(`^${source}$`);
}

describe('compileGlob against a regular-expression reference', () => {
  it('agrees on random globs and paths over a small alphabet', () => {
    const segment = fc.stringMatching(/^[ab*?]{1,4}$/).filter((s) => !s.includes('**'));
    const glob = fc
      .array(
        fc.oneof({ weight: 4, arbitrary: segment }, { weight: 1, arbitrary: fc.constant('**') }),
        {
          minLength: 1,
          maxLength: 4,
        },
      )
      .map((segments) => `/${segments.join('/')}`);
    const path = fc
      .array(fc.stringMatching(/^[ab]{1,3}$/), { minLength: 1, maxLength: 5 })
      .map((segments) => `/${segments.join('/')}`);
    fc.assert(
      fc.property(glob, path, (g, p) => {
        expect(compileGlob(g).test(p)).toBe(reference(g).test(p));
      }),
      { numRuns: 3000 },
    );
  });
});
