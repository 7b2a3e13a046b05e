// Globs for executable paths (a policy's `exe` and `parentExe`). Our own small matcher rather
// than picomatch (README "Policy files" says why): the language is a few rules, the matcher
// never backtracks exponentially on a hostile path (an opener chooses its own executable's
// name), and a glob without wildcards stays a plain path that guard mode can pin by inode.
//
//   *        any run of characters within one path segment (never /), also empty
//   ?        one character, not /
//   [a-z0]   one character of the class; [!...] or [^...] negates; never /
//   **       a whole segment: zero or more directories (/usr/**/gdb, **/gdb, /opt/app/**)
//   \x       x itself (\*, \[, \{, \\)
//
// A leading dot is not special (executables are rarely hidden and * should not skip them).
// Braces are refused rather than taken literally: `{gdb,lldb}` means alternatives to most
// people; the policy lists alternatives as separate entries.

/** A glob that does not compile: what is wrong and where (0-based offset in the glob). */
export class GlobError extends Error {
  override name = 'GlobError';
  constructor(
    readonly offset: number,
    message: string,
  ) {
    super(message);
  }
}

/** Longest glob accepted (PATH_MAX is 4096; a policy glob has no business near it). */
export const GLOB_MAX_LENGTH = 1024;

export interface ExeGlob {
  /** The glob as written. */
  readonly source: string;
  /** The path itself when the glob has no wildcard (so it names exactly one file). */
  readonly literal: string | undefined;
  test(path: string): boolean;
}

type Token =
  | { kind: 'char'; code: number }
  | { kind: 'one' }
  | { kind: 'star' }
  | { kind: 'class'; negate: boolean; ranges: [number, number][] };

type Segment =
  | { kind: 'globstar' }
  | { kind: 'literal'; text: string }
  | { kind: 'pattern'; tokens: Token[] };

const SLASH = 0x2f;

export function compileGlob(source: string): ExeGlob {
  if (source.length === 0) throw new GlobError(0, 'empty glob');
  if (source.length > GLOB_MAX_LENGTH)
    throw new GlobError(GLOB_MAX_LENGTH, `longer than ${GLOB_MAX_LENGTH} characters`);
  if (!source.startsWith('/') && !source.startsWith('**/'))
    throw new GlobError(
      0,
      'an executable glob is an absolute path (starts with /) or starts with **/ (any directory)',
    );
  const segments = parseSegments(source);
  const literal = segments.every((s) => s.kind === 'literal')
    ? segments.map((s) => (s as { text: string }).text).join('/')
    : undefined;
  if (literal !== undefined) return { source, literal, test: (path) => path === literal };
  return { source, literal, test: (path) => matchSegments(segments, path.split('/')) };
}

function parseSegments(source: string): Segment[] {
  const segments: Segment[] = [];
  let tokens: Token[] = [];
  let raw = ''; // the segment as written, to recognise ** and . / ..
  let start = 0;
  const endSegment = (at: number) => {
    if (raw === '**') segments.push({ kind: 'globstar' });
    else if (tokens.some((t, k) => t.kind === 'star' && tokens[k + 1]?.kind === 'star'))
      throw new GlobError(start, '** must be a whole path segment (/**/); use * within a name');
    else if (raw === '' && segments.length > 0)
      throw new GlobError(at, 'empty path segment (// or a trailing /): an executable is a file');
    else if (raw === '.' || raw === '..')
      throw new GlobError(start, `"${raw}" segment: the kernel reports canonical paths`);
    else if (tokens.every((t) => t.kind === 'char'))
      segments.push({
        kind: 'literal',
        text: String.fromCodePoint(...tokens.map((t) => (t as { code: number }).code)),
      });
    else segments.push({ kind: 'pattern', tokens });
    tokens = [];
    raw = '';
  };
  let i = 0;
  while (i < source.length) {
    const code = source.codePointAt(i) as number;
    const ch = String.fromCodePoint(code);
    const width = ch.length;
    if (code === 0) throw new GlobError(i, 'NUL character');
    if (code === SLASH) {
      endSegment(i);
      start = i + 1;
      i += 1;
      continue;
    }
    if (ch === '\\') {
      const next = source.codePointAt(i + 1);
      if (next === undefined) throw new GlobError(i, 'trailing backslash escapes nothing');
      if (next === SLASH) throw new GlobError(i, 'a path separator cannot be escaped');
      tokens.push({ kind: 'char', code: next });
      raw += `\\${String.fromCodePoint(next)}`;
      i += 1 + String.fromCodePoint(next).length;
      continue;
    }
    if (ch === '{' || ch === '}')
      throw new GlobError(
        i,
        'braces are not supported: list each path as its own entry (\\{ for a literal brace)',
      );
    if (ch === '*') tokens.push({ kind: 'star' });
    else if (ch === '?') tokens.push({ kind: 'one' });
    else if (ch === '[') {
      const [token, end] = parseClass(source, i);
      tokens.push(token);
      raw += source.slice(i, end);
      i = end;
      continue;
    } else tokens.push({ kind: 'char', code });
    raw += ch;
    i += width;
  }
  endSegment(source.length);
  return segments;
}

/** A [...] class starting at `open`; returns the token and the offset after its `]`. */
function parseClass(source: string, open: number): [Token, number] {
  let i = open + 1;
  let negate = false;
  if (source[i] === '!' || source[i] === '^') {
    negate = true;
    i++;
  }
  const ranges: [number, number][] = [];
  let first = true;
  const take = (): number => {
    let code = source.codePointAt(i);
    if (code === undefined) throw new GlobError(open, 'unclosed [ class');
    if (code === 0x5c) {
      i++;
      code = source.codePointAt(i);
      if (code === undefined) throw new GlobError(open, 'unclosed [ class');
    }
    if (code === SLASH) throw new GlobError(i, 'a [ ] class cannot hold /');
    i += String.fromCodePoint(code).length;
    return code;
  };
  for (;;) {
    if (i >= source.length) throw new GlobError(open, 'unclosed [ class');
    // POSIX: a ] right after [ or [! is a member, not the end.
    if (source[i] === ']' && !first) break;
    first = false;
    const lo = take();
    if (source[i] === '-' && source[i + 1] !== ']' && i + 1 < source.length) {
      i++;
      const hi = take();
      if (hi < lo)
        throw new GlobError(
          i - 1,
          `reversed range ${String.fromCodePoint(lo)}-${String.fromCodePoint(hi)}`,
        );
      ranges.push([lo, hi]);
    } else ranges.push([lo, lo]);
  }
  return [{ kind: 'class', negate, ranges }, i + 1];
}

function matchSegments(pattern: Segment[], path: string[]): boolean {
  return wildcard(pattern, path, (p) => p.kind === 'globstar', segmentMatches);
}

function segmentMatches(segment: Segment, text: string): boolean {
  if (segment.kind === 'literal') return segment.text === text;
  if (segment.kind === 'globstar') return true;
  const chars = Array.from(text, (c) => c.codePointAt(0) as number);
  return wildcard(segment.tokens, chars, (t) => t.kind === 'star', tokenMatches);
}

/**
 * Wildcard matching, used at both levels (segments of a path with **, characters of a
 * segment with *): greedy, with one back-up point at the last star, so each step is O(1)
 * and the whole is O(pattern x text), never exponential.
 */
function wildcard<P, T>(
  pattern: readonly P[],
  text: readonly T[],
  isStar: (p: P) => boolean,
  matchesOne: (p: P, t: T) => boolean,
): boolean {
  let i = 0;
  let j = 0;
  let starJ = -1;
  let starI = 0;
  while (i < text.length) {
    const p = pattern[j];
    if (p !== undefined && !isStar(p) && matchesOne(p, text[i] as T)) {
      i++;
      j++;
    } else if (p !== undefined && isStar(p)) {
      starJ = j++;
      starI = i;
    } else if (starJ >= 0) {
      j = starJ + 1;
      i = ++starI;
    } else return false;
  }
  while (j < pattern.length && isStar(pattern[j] as P)) j++;
  return j === pattern.length;
}

function tokenMatches(token: Token, code: number): boolean {
  switch (token.kind) {
    case 'char':
      return token.code === code;
    case 'one':
      return true;
    case 'class': {
      let inside = false;
      for (const [lo, hi] of token.ranges) {
        if (code >= lo && code <= hi) {
          inside = true;
          break;
        }
      }
      return inside !== token.negate;
    }
    default:
      return true;
  }
}
