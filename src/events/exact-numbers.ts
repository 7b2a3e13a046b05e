// Exact digits for the integers JSON.parse rounded, found without re-parsing the whole line.
//
// Node 20's JSON.parse gives revivers no source text, and a full JavaScript re-parse costs
// several times JSON.parse. Tracee writes its 64-bit values in two predictable places: the
// leading run of numeric top-level fields (timestamp, threadStartTime, processorId, ...) and
// the trailing `"args":[...]}`. This module reads exactly those places with a few native
// string compares and answers "what were the digits of the token JSON.parse turned into
// this number?". Every answer is proven from the text, not guessed:
//  - the prefix is walked token by token from the opening brace, so a key found there is a
//    top-level key and the digits after it its whole integer token;
//  - `args` is walked backwards from the line's final `]}`, only when `args` is the last
//    top-level field of the parsed object; each element must read exactly
//    `{"name":N,"type":T,"value":V}` with N, T (and V when a string) equal to what
//    JSON.parse decoded and free of escapes, so the element's text is known char for char;
//  - the digits must convert to the very number JSON.parse produced.
// When a check fails the caller re-parses the line with parseJsonExact (NEED_EXACT_PARSE).
// JSON with duplicate keys is the one blind spot: the prefix walk takes the first copy.

/** Thrown (one shared instance, no stack capture) when the fast path cannot prove exactness. */
export const NEED_EXACT_PARSE = Object.freeze({ needExactParse: true });

export class ExactDigits {
  /** Set by the reader: `args` is the last field of the parsed top-level object. */
  argsLast = false;

  constructor(private readonly line: string) {}

  /** The exact value of top-level integer field `key`, which JSON.parse read as `approx`. */
  topLevel(key: string, approx: number): bigint {
    return proven(prefixDigits(this.line, key), approx);
  }

  /** The exact value of `args[index].value` (JSON.parse's `args`), read as `approx`. */
  argValue(args: readonly ArgumentText[], index: number, approx: number): bigint {
    if (!this.argsLast) throw NEED_EXACT_PARSE;
    return proven(argDigitsFromEnd(this.line, args, index), approx);
  }
}

/** An argument as JSON.parse decoded it. */
export interface ArgumentText {
  name: string;
  type: string;
  value: unknown;
}

// The structural scans prove where the token is; the value check guards against duplicate
// keys (JSON.parse keeps the last). Number(bigint) is far cheaper than Number(string).
function proven(digits: string | undefined, approx: number): bigint {
  if (digits === undefined) throw NEED_EXACT_PARSE;
  const value = BigInt(digits);
  if (Number(value) !== approx) throw NEED_EXACT_PARSE;
  return value;
}

/**
 * Digits of top-level field `key` within the leading run of `"key":<integer>` fields
 * (compact form, as Tracee writes it), or undefined. A hand loop: this runs for every event.
 */
function prefixDigits(line: string, key: string): string | undefined {
  if (line.charCodeAt(0) !== 0x7b) return undefined;
  let pos = 1;
  for (;;) {
    if (line.charCodeAt(pos) !== 0x22) return undefined;
    const keyEnd = line.indexOf('"', pos + 1);
    // A key holding an escaped quote ends the scan: it is then not followed by ':'.
    if (keyEnd < 0 || line.charCodeAt(keyEnd + 1) !== 0x3a) return undefined;
    const isKey = keyEnd - pos - 1 === key.length && line.startsWith(key, pos + 1);
    const start = keyEnd + 2;
    let end = line.charCodeAt(start) === 0x2d ? start + 1 : start;
    const digitsStart = end;
    let c = line.charCodeAt(end);
    while (c >= 0x30 && c <= 0x39) c = line.charCodeAt(++end);
    // Not an integer token (string, object, fraction, exponent): the run ends here.
    if (end === digitsStart || (c !== 0x2c && c !== 0x7d)) return undefined;
    if (isKey) return line.slice(start, end);
    if (c === 0x7d) return undefined;
    pos = end + 1;
  }
}

/**
 * Digits of `args[index].value`, walking the args array backwards from the end of the line.
 * The caller guarantees `args` is the last top-level field of the parsed object.
 */
function argDigitsFromEnd(
  line: string,
  args: readonly ArgumentText[],
  index: number,
): string | undefined {
  let end = line.length - 1;
  while (end > 0 && isSpace(line.charCodeAt(end))) end--;
  if (line.charCodeAt(end) !== 0x7d || line.charCodeAt(end - 1) !== 0x5d) return undefined;
  end -= 2; // at the closing brace of the last element
  for (let i = args.length - 1; i >= index; i--) {
    const arg = args[i] as ArgumentText;
    if (line.charCodeAt(end) !== 0x7d) return undefined;
    let valueStart: number;
    let digits: string | undefined;
    if (typeof arg.value === 'string') {
      valueStart = end - arg.value.length - 2;
      if (!isPlainStringAt(line, valueStart, arg.value)) return undefined;
    } else {
      valueStart = end;
      let c = line.charCodeAt(valueStart - 1);
      while (c >= 0x30 && c <= 0x39) c = line.charCodeAt(--valueStart - 1);
      if (c === 0x2d) valueStart--;
      if (valueStart === end) return undefined; // not an integer token
      if (i === index) digits = line.slice(valueStart, end);
    }
    const typeStart = valueStart - VALUE_KEY.length - arg.type.length - 2;
    const nameStart = typeStart - TYPE_KEY.length - arg.name.length - 2;
    const elementStart = nameStart - NAME_KEY.length;
    if (
      !line.startsWith(VALUE_KEY, valueStart - VALUE_KEY.length) ||
      !isPlainStringAt(line, typeStart, arg.type) ||
      !line.startsWith(TYPE_KEY, typeStart - TYPE_KEY.length) ||
      !isPlainStringAt(line, nameStart, arg.name) ||
      !line.startsWith(NAME_KEY, elementStart)
    ) {
      return undefined;
    }
    const before = line.charCodeAt(elementStart - 1);
    if (before === 0x5b ? i !== 0 : before !== 0x2c) return undefined;
    if (i === index) return digits;
    end = elementStart - 2;
  }
  return undefined;
}

const NAME_KEY = '{"name":';
const TYPE_KEY = ',"type":';
const VALUE_KEY = ',"value":';

/**
 * `"text"` appears at `pos` exactly and is a whole string token: with no quote or backslash
 * in `text`, the raw characters between the two quotes are the decoded value itself (and a
 * raw control character there would have made the line invalid JSON).
 */
function isPlainStringAt(line: string, pos: number, text: string): boolean {
  return (
    line.charCodeAt(pos) === 0x22 &&
    line.charCodeAt(pos + text.length + 1) === 0x22 &&
    line.startsWith(text, pos + 1) &&
    text.indexOf('"') === -1 &&
    text.indexOf('\\') === -1
  );
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}
