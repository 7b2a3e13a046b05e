// Exact digits for the integers JSON.parse rounded, found without re-parsing the whole line,
// in any JSON layout (whitespace anywhere, fields in any order, escapes, unknown fields).
//
// Node 20's JSON.parse gives revivers no source text (V8 11.3 has it only behind
// --harmony-json-parse-with-source), and a full JavaScript re-parse costs several times
// JSON.parse. But a rounded integer is always the value of a named key, and a key's text can
// be found with the engine's native substring search. Every answer is proven from the text:
//  - In valid JSON (JSON.parse accepted the line), the text `"name"` followed by optional
//    whitespace and `:`, and not preceded by a backslash, is a key token spelled `name`: its
//    closing quote is unescaped, so it ends a string; its opening quote, unescaped, must then
//    open that string (a string followed by a bare word is not JSON); a string followed by
//    `:` is a key. Inside a string every `"` is escaped, so no such text hides in one.
//  - A key can also be spelled with escapes. Our names hold no `"`, `\`, `/` or control
//    character, so only `\uXXXX` could spell one of their characters; a line that has a
//    `\u` escape of a character that could be in the name gives up (exact re-parse).
//  - Top-level field `name`: the line must hold exactly one key token `name`, at any depth.
//    The parsed top-level object has the field, so that one token is its key.
//  - `args[i].value`: the line must hold exactly as many `value` key tokens as `args` has
//    elements, and every element must have a `value`. Each element's own key is inside its
//    own text, so the i-th token in the line is element i's.
//  - The token after the colon must be a whole integer (no fraction or exponent), and its
//    digits must convert to the very number JSON.parse produced (duplicate keys: JSON.parse
//    keeps the last copy, the count check above already refuses them).
// When a check fails the caller re-parses the line with parseJsonExact (NEED_EXACT_PARSE).

/** Thrown (one shared instance, no stack capture) when the fast path cannot prove exactness. */
export const NEED_EXACT_PARSE = Object.freeze({ needExactParse: true });

export class ExactDigits {
  /** Positions just after the colon of each `"value":` key token, in line order. */
  private valueKeys: number[] | undefined;
  /** 0 unknown, 1 the line has no \u escape of a character a key name could hold, 2 it has. */
  private escapes = 0;

  constructor(private readonly line: string) {}

  /** The exact value of top-level integer field `key`, which JSON.parse read as `approx`. */
  topLevel(key: string, approx: number): bigint {
    const needle = needleFor(key);
    if (needle === undefined || !this.searchable()) throw NEED_EXACT_PARSE;
    const { line } = this;
    const { piece, offset, quoted } = needle;
    let found = -1;
    for (let at = line.indexOf(piece, offset); at !== -1; at = line.indexOf(piece, at + 1)) {
      const value = keyValueStart(line, at - offset, quoted);
      if (value === -1) continue;
      if (found !== -1) throw NEED_EXACT_PARSE; // the name is a key twice: not provable
      found = value;
    }
    return proven(line, found, approx);
  }

  /** The exact value of `args[index].value` (JSON.parse's `args`), read as `approx`. */
  argValue(args: readonly { value?: unknown }[], index: number, approx: number): bigint {
    if (this.valueKeys === undefined) {
      if (!this.searchable()) throw NEED_EXACT_PARSE;
      this.valueKeys = [];
      const { line } = this;
      // 'value"' is short enough for the quick search (see Needle).
      for (let at = line.indexOf('value"', 1); at !== -1; at = line.indexOf('value"', at + 1)) {
        const value = keyValueStart(line, at - 1, VALUE_KEY);
        if (value !== -1) this.valueKeys.push(value);
      }
    }
    if (this.valueKeys.length !== args.length) throw NEED_EXACT_PARSE;
    for (let i = 0; i < args.length; i++) {
      if ((args[i] as { value?: unknown }).value === undefined) throw NEED_EXACT_PARSE;
    }
    return proven(this.line, this.valueKeys[index] as number, approx);
  }

  /** No escape in the line could spell a character of a key name searched for. */
  private searchable(): boolean {
    if (this.escapes === 0) {
      this.escapes = this.line.indexOf('\\u') === -1 || !NAME_ESCAPE.test(this.line) ? 1 : 2;
    }
    return this.escapes === 1;
  }
}

const VALUE_KEY = '"value"';

/** Key names searched for: ASCII letters, digits, '_' and '-' only. */
const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;
/** A \u escape of a letter or '_' (0x40-0x7f), a digit (0x30-0x3f) or '-' (0x2d). */
const NAME_ESCAPE = /\\u00(?:[3-7]|2d)/i;

/**
 * How to find key token `"name"`. V8 searches for needles under 7 characters with a
 * first-character scan, and sets up a Boyer-Moore table per call for longer ones, which
 * costs more than the whole scan on a 1 KB line. So the search is for a piece of the quoted
 * name that starts with a rare character, and each hit is checked in full.
 */
interface Needle {
  quoted: string;
  piece: string;
  /** Where the piece starts in `quoted`. */
  offset: number;
}

/** Characters by how rarely they start a piece of Tracee JSON text, rarest first. */
const RARITY = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ_-0123456789qjzxkvwybgfhdupcmlnoairtse"';
const needles = new Map<string, Needle | undefined>();

function needleFor(key: string): Needle | undefined {
  if (needles.has(key)) return needles.get(key);
  let needle: Needle | undefined;
  if (PLAIN_KEY.test(key)) {
    const quoted = `"${key}"`;
    const length = Math.min(6, quoted.length);
    let best = 0;
    for (let i = 1; i + length <= quoted.length; i++) {
      if (RARITY.indexOf(quoted.charAt(i)) <= RARITY.indexOf(quoted.charAt(best))) best = i;
    }
    needle = { quoted, piece: quoted.slice(best, best + length), offset: best };
  }
  // Field names come from the model and from a stream's few unknown fields; stay bounded.
  if (needles.size < 256) needles.set(key, needle);
  return needle;
}

/**
 * When `quoted` (a name in quotes) is at `at` and is a key token there, the position of its
 * value (past the colon and any whitespace); otherwise -1.
 */
function keyValueStart(line: string, at: number, quoted: string): number {
  if (at > 0 && line.charCodeAt(at - 1) === 0x5c) return -1; // an escaped quote: in a string
  if (!line.startsWith(quoted, at)) return -1;
  let pos = at + quoted.length;
  let c = line.charCodeAt(pos);
  while (isSpace(c)) c = line.charCodeAt(++pos);
  if (c !== 0x3a) return -1;
  c = line.charCodeAt(++pos);
  while (isSpace(c)) c = line.charCodeAt(++pos);
  return pos;
}

/** The integer token at `start` as bigint, if it is one and JSON.parse read it as `approx`. */
function proven(line: string, start: number, approx: number): bigint {
  if (start === -1) throw NEED_EXACT_PARSE;
  let end = line.charCodeAt(start) === 0x2d ? start + 1 : start;
  const digitsStart = end;
  let c = line.charCodeAt(end);
  while (c >= 0x30 && c <= 0x39) c = line.charCodeAt(++end);
  // A fraction or an exponent: not an integer token. (JSON allows nothing else here.)
  if (end === digitsStart || c === 0x2e || c === 0x65 || c === 0x45) throw NEED_EXACT_PARSE;
  const value = bigintFromDigits(line, start, end);
  // Number(bigint) is far cheaper than Number(string).
  if (Number(value) !== approx) throw NEED_EXACT_PARSE;
  return value;
}

/**
 * The integer token line[start, end) (optional '-', then digits) as bigint. Up to 20 digits
 * (every 64-bit value) it is built from two safe numbers, about 3x faster than BigInt(text).
 */
function bigintFromDigits(line: string, start: number, end: number): bigint {
  const negative = line.charCodeAt(start) === 0x2d;
  const first = negative ? start + 1 : start;
  if (end - first > 20) return BigInt(line.slice(start, end));
  const split = Math.max(end - 9, first);
  let high = 0;
  for (let i = first; i < split; i++) high = high * 10 + line.charCodeAt(i) - 0x30;
  let low = 0;
  for (let i = split; i < end; i++) low = low * 10 + line.charCodeAt(i) - 0x30;
  const value = high === 0 ? BigInt(low) : BigInt(high) * 1_000_000_000n + BigInt(low);
  return negative ? -value : value;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}
