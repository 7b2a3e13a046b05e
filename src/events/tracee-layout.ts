// A reader for the one layout Tracee (and this project's writer) print security_file_open
// events in: compact JSON, fields in trace.Event's declaration order. It reads the line once,
// left to right, checking every character it accepts, and makes 64-bit integers straight from
// their digits, so it needs neither JSON.parse nor the digit recovery of exact-numbers.ts.
//
// It is strict by construction: anything outside the expected layout, and anything it would
// have to interpret (escapes in strings, numbers with fractions or exponents, an unknown flag
// name, an unexpected field) makes it return undefined, and the caller reads the line with
// the general path (JSON.parse + validation), which also produces the error messages. A test
// compares the two on valid lines and on thousands of corrupted ones.

import { OpenFlagsError, parseOpenFlags } from './open-flags.js';
import {
  type JsonObject,
  type JsonValue,
  SECURITY_FILE_OPEN,
  type SecurityFileOpenArgs,
  type SecurityFileOpenEvent,
  type TraceeContainer,
} from './types.js';

/** Thrown inside the scanner to abandon the fast path; never escapes this module. */
const DECLINE = Object.freeze({ decline: true });

class Scanner {
  pos = 0;
  constructor(readonly line: string) {}

  /** Consumes `text` (a key with its quotes and colon, or punctuation) or declines. */
  expect(text: string): void {
    if (!this.accept(text)) throw DECLINE;
  }

  /** Consumes `text` if it is next. A charCodeAt loop: startsWith costs far more here. */
  accept(text: string): boolean {
    const { line, pos } = this;
    const length = text.length;
    for (let i = 0; i < length; i++) {
      if (line.charCodeAt(pos + i) !== text.charCodeAt(i)) return false;
    }
    this.pos = pos + length;
    return true;
  }

  /** Index of the end of the integer token at pos (JSON grammar, no fraction/exponent). */
  private integerEnd(): number {
    const { line } = this;
    let end = this.pos;
    if (line.charCodeAt(end) === 0x2d) end++;
    const first = end;
    let c = line.charCodeAt(end);
    while (c >= 0x30 && c <= 0x39) c = line.charCodeAt(++end);
    const digits = end - first;
    // No digits, a leading zero, or a fraction/exponent: not ours to interpret.
    if (digits === 0 || (digits > 1 && line.charCodeAt(first) === 0x30)) throw DECLINE;
    if (c === 0x2e || c === 0x65 || c === 0x45) throw DECLINE;
    return end;
  }

  /** A safe integer (at most 15 digits). */
  int(): number {
    const start = this.pos;
    const end = this.integerEnd();
    const negative = this.line.charCodeAt(start) === 0x2d;
    const first = negative ? start + 1 : start;
    if (end - first > 15) throw DECLINE;
    let value = 0;
    for (let i = first; i < end; i++) value = value * 10 + (this.line.charCodeAt(i) - 0x30);
    this.pos = end;
    return negative ? -value : value;
  }

  /** Any integer, exactly. */
  u64(): bigint {
    const start = this.pos;
    const end = this.integerEnd();
    if (end - start <= 15) return BigInt(this.int());
    this.pos = end;
    return BigInt(this.line.slice(start, end));
  }

  /** A string token without escapes or control characters. */
  string(): string {
    const { line } = this;
    if (line.charCodeAt(this.pos) !== 0x22) throw DECLINE;
    const start = this.pos + 1;
    let end = start;
    let c = line.charCodeAt(end);
    while (c !== 0x22) {
      // Escapes need decoding, raw control characters are invalid JSON, NaN is the end.
      if (c < 0x20 || c === 0x5c || Number.isNaN(c)) throw DECLINE;
      c = line.charCodeAt(++end);
    }
    this.pos = end + 1;
    return line.slice(start, end);
  }

  boolean(): boolean {
    if (this.accept('true')) return true;
    if (this.accept('false')) return false;
    throw DECLINE;
  }
}

/**
 * Reads a security_file_open line in Tracee's layout into an event, or returns undefined
 * when the line is anything else (the caller then uses the general path).
 */
export function readTraceeLayout(line: string): SecurityFileOpenEvent | undefined {
  try {
    return read(new Scanner(line));
  } catch (err) {
    if (err === DECLINE) return undefined;
    throw err;
  }
}

function read(s: Scanner): SecurityFileOpenEvent {
  s.expect('{"timestamp":');
  const timestamp = s.u64();
  s.expect(',"threadStartTime":');
  const threadStartTime = s.u64();
  s.expect(',"processorId":');
  const processorId = s.int();
  s.expect(',"processId":');
  const processId = s.int();
  s.expect(',"cgroupId":');
  const cgroupId = s.u64();
  s.expect(',"threadId":');
  const threadId = s.int();
  s.expect(',"parentProcessId":');
  const parentProcessId = s.int();
  s.expect(',"hostProcessId":');
  const hostProcessId = s.int();
  s.expect(',"hostThreadId":');
  const hostThreadId = s.int();
  s.expect(',"hostParentProcessId":');
  const hostParentProcessId = s.int();
  s.expect(',"userId":');
  const userId = s.int();
  s.expect(',"mountNamespace":');
  const mountNamespace = s.int();
  s.expect(',"pidNamespace":');
  const pidNamespace = s.int();
  s.expect(',"processName":');
  const processName = s.string();
  let executablePath = '';
  if (s.accept(',"executable":{"path":')) {
    executablePath = s.string();
    s.expect('}');
  }
  s.expect(',"hostName":');
  const hostName = s.string();
  const containerId = s.accept(',"containerId":') ? s.string() : '';
  s.expect(',"container":');
  const container = readContainer(s);
  let extra: JsonObject | undefined;
  if (s.accept(',"kubernetes":{}')) extra = { kubernetes: {} };
  s.expect(',"eventId":"');
  const eventIdStart = s.pos;
  const eventId = s.int();
  if (s.pos - eventIdStart > 10) throw DECLINE; // as the general path's limit
  s.expect('","eventName":"security_file_open"');
  if (s.accept(',"matchedPolicies":[')) {
    const policies: JsonValue[] = [];
    if (!s.accept(']')) {
      do policies.push(s.string());
      while (s.accept(','));
      s.expect(']');
    }
    extra ??= {};
    extra.matchedPolicies = policies;
  }
  s.expect(',"argsNum":');
  const argsNum = s.int();
  s.expect(',"returnValue":');
  const returnValue = s.int();
  s.expect(',"syscall":');
  const syscall = s.string();
  if (s.accept(',"stackAddresses":null')) {
    extra ??= {};
    extra.stackAddresses = null;
  }
  if (s.accept(',"contextFlags":{"containerStarted":')) {
    const containerStarted = s.boolean();
    s.expect(',"isCompat":');
    const isCompat = s.boolean();
    s.expect('}');
    extra ??= {};
    extra.contextFlags = { containerStarted, isCompat };
  }
  for (const key of ENTITY_IDS) {
    if (s.accept(key.token)) {
      extra ??= {};
      extra[key.name] = s.int();
    }
  }
  s.expect(',"args":[');
  const args = readArgs(s);
  s.expect('}');
  if (s.pos !== s.line.length) throw DECLINE;
  const event: SecurityFileOpenEvent = {
    timestamp,
    threadStartTime,
    processorId,
    processId,
    cgroupId,
    threadId,
    parentProcessId,
    hostProcessId,
    hostThreadId,
    hostParentProcessId,
    userId,
    mountNamespace,
    pidNamespace,
    processName,
    executable: { path: executablePath },
    hostName,
    containerId,
    container,
    eventId,
    eventName: SECURITY_FILE_OPEN,
    argsNum,
    returnValue,
    syscall,
    args,
  };
  if (extra !== undefined) event.extra = extra;
  return event;
}

const ENTITY_IDS = ['threadEntityId', 'processEntityId', 'parentEntityId'].map((name) => ({
  name,
  token: `,"${name}":`,
}));

function readContainer(s: Scanner): TraceeContainer {
  s.expect('{');
  const container: TraceeContainer = {};
  if (s.accept('}')) return container;
  let first = true;
  for (const key of ['id', 'name', 'image', 'imageDigest'] as const) {
    if (s.accept(`${first ? '' : ','}"${key}":`)) {
      container[key] = s.string();
      first = false;
    }
  }
  s.expect('}');
  return container;
}

function readArgs(s: Scanner): SecurityFileOpenArgs {
  s.expect('{"name":"pathname","type":');
  const pathnameType = s.string();
  s.expect(',"value":');
  const pathname = s.string();
  s.expect('},{"name":"flags","type":');
  const flagsType = s.string();
  s.expect(',"value":');
  const flags = s.line.charCodeAt(s.pos) === 0x22 ? s.string() : s.int();
  try {
    parseOpenFlags(flags);
  } catch (err) {
    if (err instanceof OpenFlagsError) throw DECLINE; // the general path words the error
    throw err;
  }
  s.expect('},{"name":"dev","type":');
  const devType = s.string();
  s.expect(',"value":');
  const dev = s.u64();
  s.expect('},{"name":"inode","type":');
  const inodeType = s.string();
  s.expect(',"value":');
  const inode = s.u64();
  s.expect('},{"name":"ctime","type":');
  const ctimeType = s.string();
  s.expect(',"value":');
  const ctime = s.u64();
  s.expect('},{"name":"syscall_pathname","type":');
  const syscallPathnameType = s.string();
  s.expect(',"value":');
  const syscallPathname = s.string();
  s.expect('}]');
  return [
    { name: 'pathname', type: pathnameType, value: pathname },
    { name: 'flags', type: flagsType, value: flags },
    { name: 'dev', type: devType, value: dev },
    { name: 'inode', type: inodeType, value: inode },
    { name: 'ctime', type: ctimeType, value: ctime },
    { name: 'syscall_pathname', type: syscallPathnameType, value: syscallPathname },
  ];
}
