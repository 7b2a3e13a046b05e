import { describe, expect, it } from 'vitest';
import {
  formatOpenFlags,
  isReadAccess,
  isWriteAccess,
  OpenFlagsError,
  parseOpenFlags,
} from '../src/events/open-flags.js';

describe('open flags', () => {
  it.each([
    ['O_RDONLY', 0],
    ['O_WRONLY', 0o1],
    ['O_RDWR', 0o2],
    ['O_RDONLY|O_LARGEFILE', 0o100000],
    ['O_WRONLY|O_CREAT|O_CLOEXEC', 0o1 | 0o100 | 0o2000000],
    ['O_RDWR|O_LARGEFILE|O_CLOEXEC', 0o2 | 0o100000 | 0o2000000],
    ['O_WRONLY|O_CREAT|O_TRUNC|O_LARGEFILE', 0o1 | 0o100 | 0o1000 | 0o100000],
    ['O_RDONLY|O_SYNC', 0o4010000],
    ['O_RDONLY|O_TMPFILE', 0o20200000],
    ['O_RDONLY|O_PATH', 0o10000000],
  ])('%s is %o and formats back', (text, value) => {
    expect(parseOpenFlags(text)).toBe(value);
    expect(formatOpenFlags(value)).toBe(text);
  });

  it('formats bits without a name in hex and parses them back', () => {
    const value = 0o2 | 0x40000000;
    expect(formatOpenFlags(value)).toBe('O_RDWR|0x40000000');
    expect(parseOpenFlags('O_RDWR|0x40000000')).toBe(value);
  });

  it('accepts integers as they are', () => {
    expect(parseOpenFlags(32768)).toBe(32768);
    expect(parseOpenFlags(32800)).toBe(32800);
  });

  it.each([
    ['O_BOGUS', /unknown open flag "O_BOGUS"/],
    ['O_RDONLY||O_LARGEFILE', /empty flag name/],
    ['o_rdonly', /unknown open flag "o_rdonly"/],
  ])('rejects %s with a clear message', (text, message) => {
    expect(() => parseOpenFlags(text)).toThrow(OpenFlagsError);
    expect(() => parseOpenFlags(text)).toThrow(message);
  });

  it.each([
    [1.5, /32-bit integer/],
    [2 ** 40, /32-bit integer/],
    [null, /got null/],
    [true, /got boolean/],
  ])('rejects %s', (value, message) => {
    expect(() => parseOpenFlags(value)).toThrow(message);
  });

  it.each([
    [0, true, false],
    [0o1, false, true],
    [0o2, true, true],
    [0o3, false, false],
    [0o2 | 0o2000000 | 0o100000, true, true],
    [0o1 | 0o2000000, false, true],
  ])('access mode of %o: read %s, write %s', (flags, read, write) => {
    expect(isReadAccess(flags)).toBe(read);
    expect(isWriteAccess(flags)).toBe(write);
  });
});
