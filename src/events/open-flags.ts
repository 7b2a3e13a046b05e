// open(2) flag bits as the kernel stores them in file->f_flags on x86-64 Linux
// (include/uapi/asm-generic/fcntl.h; x86-64 uses the generic values), and the string form
// Tracee prints with `--output option:parse-arguments` ("O_RDONLY|O_LARGEFILE").

export const O_ACCMODE = 0o3;
export const O_RDONLY = 0o0;
export const O_WRONLY = 0o1;
export const O_RDWR = 0o2;

/**
 * Non-access-mode flags, in the order they are printed. Composite flags come before the
 * bits they contain (O_SYNC holds O_DSYNC, O_TMPFILE holds O_DIRECTORY) so that formatting
 * names the composite once instead of its parts.
 */
export const OPEN_FLAG_BITS: ReadonlyArray<readonly [name: string, value: number]> = [
  ['O_CREAT', 0o100],
  ['O_EXCL', 0o200],
  ['O_NOCTTY', 0o400],
  ['O_TRUNC', 0o1000],
  ['O_APPEND', 0o2000],
  ['O_NONBLOCK', 0o4000],
  ['O_SYNC', 0o4010000],
  ['O_DSYNC', 0o10000],
  ['FASYNC', 0o20000],
  ['O_DIRECT', 0o40000],
  ['O_LARGEFILE', 0o100000],
  ['O_TMPFILE', 0o20200000],
  ['O_DIRECTORY', 0o200000],
  ['O_NOFOLLOW', 0o400000],
  ['O_NOATIME', 0o1000000],
  ['O_CLOEXEC', 0o2000000],
  ['O_PATH', 0o10000000],
  // Kernel-internal bit set in f_flags for opens done by execve (__FMODE_EXEC).
  ['FMODE_EXEC', 0o40],
];

const VALUE_BY_NAME = new Map<string, number>([
  ['O_RDONLY', O_RDONLY],
  ['O_WRONLY', O_WRONLY],
  ['O_RDWR', O_RDWR],
  ['O_NDELAY', 0o4000],
  ['O_ASYNC', 0o20000],
  ['O_RSYNC', 0o4010000],
  ...OPEN_FLAG_BITS,
]);

/** Thrown for a flags value that is neither a valid integer nor a known flag string. */
export class OpenFlagsError extends Error {
  override name = 'OpenFlagsError';
}

// Tracee streams repeat a handful of flag strings; parsing each once keeps replay fast.
const parsedCache = new Map<string, number>();
const PARSED_CACHE_LIMIT = 4096;

/**
 * Parses Tracee's flag string ("O_WRONLY|O_CREAT|O_CLOEXEC") into the integer value.
 * Tokens may also be numbers (decimal, 0x hex, 0o or leading-0 octal), which is how
 * `formatOpenFlags` writes bits that have no name, so format → parse is lossless.
 */
export function parseOpenFlagString(text: string): number {
  const cached = parsedCache.get(text);
  if (cached !== undefined) return cached;
  let flags = 0;
  for (const raw of text.split('|')) {
    const token = raw.trim();
    const named = VALUE_BY_NAME.get(token);
    if (named !== undefined) {
      flags |= named;
      continue;
    }
    const numeric = parseNumericToken(token);
    if (numeric === undefined) {
      throw new OpenFlagsError(
        token === ''
          ? `empty flag name in ${JSON.stringify(text)}`
          : `unknown open flag ${JSON.stringify(token)} in ${JSON.stringify(text)}`,
      );
    }
    flags |= numeric;
  }
  if (parsedCache.size >= PARSED_CACHE_LIMIT) parsedCache.clear();
  parsedCache.set(text, flags);
  return flags;
}

function parseNumericToken(token: string): number | undefined {
  let value: number;
  if (/^0[xX][0-9a-fA-F]{1,8}$/.test(token)) value = Number.parseInt(token.slice(2), 16);
  else if (/^0[oO]?[0-7]{1,11}$/.test(token))
    value = Number.parseInt(token.replace(/^0[oO]?/, '0'), 8);
  else if (/^[1-9][0-9]{0,9}$/.test(token)) value = Number.parseInt(token, 10);
  else return undefined;
  return value <= 0xffffffff ? value : undefined;
}

/** Accepts the raw integer or Tracee's string form; throws OpenFlagsError otherwise. */
export function parseOpenFlags(value: unknown): number {
  if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= -0x80000000 && value <= 0xffffffff) return value >>> 0;
    throw new OpenFlagsError(`expected a 32-bit integer or a flag string, got ${value}`);
  }
  if (typeof value === 'string') return parseOpenFlagString(value);
  throw new OpenFlagsError(
    `expected an integer or a flag string, got ${value === null ? 'null' : typeof value}`,
  );
}

/** Tracee's string form of a flags integer. Bits without a name are appended in hex. */
export function formatOpenFlags(flags: number): string {
  const mode = flags & O_ACCMODE;
  const parts = [
    mode === O_RDONLY
      ? 'O_RDONLY'
      : mode === O_WRONLY
        ? 'O_WRONLY'
        : mode === O_RDWR
          ? 'O_RDWR'
          : 'O_WRONLY|O_RDWR',
  ];
  let rest = (flags & ~O_ACCMODE) >>> 0;
  for (const [name, bits] of OPEN_FLAG_BITS) {
    if ((rest & bits) === bits) {
      parts.push(name);
      rest = (rest & ~bits) >>> 0;
    }
  }
  if (rest !== 0) parts.push(`0x${rest.toString(16)}`);
  return parts.join('|');
}

/** The open allows reading: access mode O_RDONLY or O_RDWR (as Tracee's IsFileRead). */
export function isReadAccess(flags: number): boolean {
  const mode = flags & O_ACCMODE;
  return mode === O_RDONLY || mode === O_RDWR;
}

/** The open allows writing: access mode O_WRONLY or O_RDWR (as Tracee's IsFileWrite). */
export function isWriteAccess(flags: number): boolean {
  const mode = flags & O_ACCMODE;
  return mode === O_WRONLY || mode === O_RDWR;
}
