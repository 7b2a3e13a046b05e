// Reads one line of Tracee JSON output into a validated, typed event.

import { MAX_JSON_DEPTH, parseJsonExact } from './exact-json.js';
import { ExactDigits, NEED_EXACT_PARSE } from './exact-numbers.js';
import { OpenFlagsError, parseOpenFlags } from './open-flags.js';
import { printable } from './printable.js';
import { learnLayout, readTraceeLayout } from './tracee-layout.js';
import {
  type CaptureMark,
  type FlagsSource,
  type JsonObject,
  type JsonValue,
  LEADING_INTEGER_FIELDS,
  PID_MAX,
  SECURITY_FILE_OPEN,
  SECURITY_FILE_OPEN_EVENT_ID,
  type SecurityFileOpenArgs,
  type TraceeArgument,
  type TraceeContainer,
  type TraceeEvent,
  U64_MAX,
} from './types.js';

/** A field of an event is missing or has the wrong type or value. */
export class EventFieldError extends Error {
  override name = 'EventFieldError';
  constructor(
    /** Path of the field in Tracee's JSON, e.g. `processId` or `args[1].value (flags)`. */
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
  }
}

/** A line of input could not be read as an event. */
export class EventParseError extends Error {
  override name = 'EventParseError';
  constructor(
    readonly lineNo: number,
    /** The offending field, or undefined when the line is not valid JSON at all. */
    readonly field: string | undefined,
    readonly reason: string,
  ) {
    super(`line ${lineNo}: ${field === undefined ? '' : `${field}: `}${reason}`);
  }
}

export type EventParseResult =
  | { ok: true; event: TraceeEvent }
  | { ok: false; error: EventParseError };

/**
 * Parses one line of Tracee JSON output. Never throws: a bad line gives `{ok: false}` with
 * an error naming the line number and, when the JSON itself is valid, the field.
 */
export function parseEventLine(line: string, lineNo: number): EventParseResult {
  // Tracee's own layout takes the fast, single-pass reader; everything else, and every
  // error message, comes from the general path below.
  const event = readTraceeLayout(line);
  if (event !== undefined) return { ok: true, event };
  const result = parseEventLineGeneral(line, lineNo);
  // Teach the fast reader this line's field order (whitespace it allows anywhere).
  if (result.ok && result.event.eventName === SECURITY_FILE_OPEN) learnLayout(lastLayout.keys);
  return result;
}

/**
 * parseEventLine without the layout-specific fast reader: JSON.parse, exact digit recovery,
 * validation. Exported as the reference the fast reader is tested against.
 */
export function parseEventLineGeneral(line: string, lineNo: number): EventParseResult {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch (err) {
    return invalid(lineNo, undefined, `invalid JSON: ${describeJsonError(err, line)}`);
  }
  try {
    return { ok: true, event: eventFromJson(raw, new ExactDigits(line)) };
  } catch (err) {
    if (err === NEED_EXACT_PARSE) return parseExactly(line, lineNo);
    return fieldFailure(err, lineNo);
  }
}

function parseExactly(line: string, lineNo: number): EventParseResult {
  let raw: JsonValue;
  try {
    raw = parseJsonExact(line);
  } catch (err) {
    return invalid(lineNo, undefined, `invalid JSON: ${(err as Error).message}`);
  }
  try {
    return { ok: true, event: eventFromJson(raw) };
  } catch (err) {
    return fieldFailure(err, lineNo);
  }
}

function fieldFailure(err: unknown, lineNo: number): EventParseResult {
  if (err instanceof EventFieldError) return invalid(lineNo, err.field, err.reason);
  throw err;
}

function invalid(lineNo: number, field: string | undefined, reason: string): EventParseResult {
  return { ok: false, error: new EventParseError(lineNo, field, reason) };
}

function describeJsonError(err: unknown, line: string): string {
  if (line.trim() === '') return 'empty line';
  // V8 quotes the input in its message; keep it short and printable.
  const message = err instanceof Error ? err.message : String(err);
  return printable(message.length > 160 ? `${message.slice(0, 157)}...` : message);
}

const KNOWN_FIELDS = new Set<string>([
  ...LEADING_INTEGER_FIELDS,
  'processName',
  'executable',
  'hostName',
  'containerId',
  'container',
  'eventId',
  'eventName',
  'argsNum',
  'returnValue',
  'syscall',
  'args',
  'procmemGuard',
]);

/**
 * Builds a typed event from a parsed JSON object. `exact` recovers the digits of integers
 * JSON.parse rounded; pass none when `raw` came from parseJsonExact (bigints already exact).
 * Throws EventFieldError for a missing or mistyped field.
 */
export function eventFromJson(raw: unknown, exact?: ExactDigits): TraceeEvent {
  if (!isObject(raw))
    throw new EventFieldError('(event)', `expected a JSON object, got ${describe(raw)}`);
  const eventName = string(raw.eventName, 'eventName', true);
  const argsRaw = raw.args;
  if (!Array.isArray(argsRaw)) {
    throw new EventFieldError(
      'args',
      argsRaw === undefined ? 'missing' : `expected an array, got ${describe(argsRaw)}`,
    );
  }
  const layout = layoutOf(raw);
  const args =
    eventName === SECURITY_FILE_OPEN
      ? securityFileOpenArgs(argsRaw, exact)
      : genericArgs(argsRaw, exact);
  // Named property loads (not raw[key] in a helper): JSON.parse gives every line of a stream
  // the same hidden class, so these stay monomorphic and cheap.
  const event: TraceeEvent = {
    timestamp: u64(raw.timestamp, 'timestamp', exact, true),
    threadStartTime: u64(raw.threadStartTime, 'threadStartTime', exact, false),
    processorId: int(raw.processorId, 'processorId', false),
    processId: pid(raw.processId, 'processId', true),
    cgroupId: u64(raw.cgroupId, 'cgroupId', exact, false),
    threadId: pid(raw.threadId, 'threadId', false),
    parentProcessId: pid(raw.parentProcessId, 'parentProcessId', false),
    hostProcessId: pid(raw.hostProcessId, 'hostProcessId', false),
    hostThreadId: pid(raw.hostThreadId, 'hostThreadId', false),
    hostParentProcessId: pid(raw.hostParentProcessId, 'hostParentProcessId', false),
    userId: int(raw.userId, 'userId', false),
    mountNamespace: int(raw.mountNamespace, 'mountNamespace', false),
    pidNamespace: int(raw.pidNamespace, 'pidNamespace', false),
    processName: string(raw.processName, 'processName', true),
    executable: executable(raw.executable),
    hostName: string(raw.hostName, 'hostName', false),
    containerId: string(raw.containerId, 'containerId', false),
    container: container(raw.container),
    eventId: eventId(raw.eventId, eventName),
    eventName,
    argsNum: raw.argsNum === undefined ? args.length : int(raw.argsNum, 'argsNum', false),
    returnValue: int(raw.returnValue, 'returnValue', false),
    syscall: string(raw.syscall, 'syscall', false),
    args,
  };
  if (raw.procmemGuard !== undefined) event.procmemGuard = captureMark(raw.procmemGuard);
  const extra = extraFields(raw, layout.extraKeys, exact);
  if (extra !== undefined) event.extra = extra;
  return event;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'string':
      return `string ${printable(JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value))}`;
    case 'number':
    case 'bigint':
      return `number ${value}`;
    case 'boolean':
      return `boolean ${value}`;
    default:
      return `an ${typeof value}`;
  }
}

function int(value: unknown, field: string, required: boolean): number {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  if (value === undefined && !required) return 0;
  throw new EventFieldError(
    field,
    value === undefined ? 'missing' : `expected an integer, got ${describe(value)}`,
  );
}

function pid(value: unknown, field: string, required: boolean): number {
  const id = int(value, field, required);
  if (id < 0 || id > PID_MAX) {
    throw new EventFieldError(field, `expected a process id (0 to ${PID_MAX}), got number ${id}`);
  }
  return id;
}

function u64(
  value: unknown,
  field: string,
  exact: ExactDigits | undefined,
  required: boolean,
): bigint {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  if (value === undefined && !required) return 0n;
  if (exact !== undefined && isRoundedInteger(value)) {
    return inU64Range(exact.topLevel(field, value), field);
  }
  return inU64Range(exactInteger(value, field), field);
}

/** An exact integer checked to fit an unsigned 64-bit field. */
function inU64Range(value: bigint, field: string): bigint {
  if (value < 0n || value > U64_MAX) {
    throw new EventFieldError(
      field,
      `expected an unsigned 64-bit integer (0 to ${U64_MAX}), got number ${value}`,
    );
  }
  return value;
}

function isRoundedInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && !Number.isSafeInteger(value);
}

/** An already exact integer JSON value (safe number or bigint) as bigint. */
function exactInteger(value: unknown, field: string): bigint {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === 'bigint') return value;
  throw new EventFieldError(
    field,
    value === undefined ? 'missing' : `expected an exact integer, got ${describe(value)}`,
  );
}

function string(value: unknown, field: string, required: boolean): string {
  if (typeof value === 'string') return value;
  if (value === undefined && !required) return '';
  throw new EventFieldError(
    field,
    value === undefined ? 'missing' : `expected a string, got ${describe(value)}`,
  );
}

function executable(value: unknown): { path: string } {
  if (value === undefined) return { path: '' };
  if (isObject(value)) return { path: string(value.path, 'executable.path', false) };
  throw new EventFieldError('executable', `expected an object, got ${describe(value)}`);
}

function container(value: unknown): TraceeContainer {
  if (value === undefined) return {};
  if (!isObject(value)) {
    throw new EventFieldError('container', `expected an object, got ${describe(value)}`);
  }
  const out: TraceeContainer = {};
  // Named loads: most events carry an empty container and pay almost nothing here.
  if (value.id !== undefined) out.id = string(value.id, 'container.id', true);
  if (value.name !== undefined) out.name = string(value.name, 'container.name', true);
  if (value.image !== undefined) out.image = string(value.image, 'container.image', true);
  if (value.imageDigest !== undefined) {
    out.imageDigest = string(value.imageDigest, 'container.imageDigest', true);
  }
  return out;
}

/** Tracee writes eventId as a string ("732"); numbers are accepted too. */
function eventId(value: unknown, eventName: string): number {
  if (value === undefined)
    return eventName === SECURITY_FILE_OPEN ? SECURITY_FILE_OPEN_EVENT_ID : 0;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  if (typeof value === 'string' && value.length > 0 && value.length <= 10) {
    const id = Number(value);
    // Number('') and Number(' 7') are lenient; the round trip keeps only plain decimals.
    if (Number.isInteger(id) && String(id) === value) return id;
  }
  throw new EventFieldError(
    'eventId',
    `expected an integer or a decimal string, got ${describe(value)}`,
  );
}

const FLAGS_SOURCES: ReadonlySet<string> = new Set<FlagsSource>([
  'fdinfo',
  'inferred',
  'syscall',
  'kernel',
  'unknown',
  'tracee',
]);

function captureMark(value: unknown): CaptureMark {
  if (!isObject(value))
    throw new EventFieldError('procmemGuard', `expected an object, got ${describe(value)}`);
  if (typeof value.procfsMem !== 'boolean') {
    throw new EventFieldError(
      'procmemGuard.procfsMem',
      `expected a boolean, got ${describe(value.procfsMem)}`,
    );
  }
  const flagsSource = value.flagsSource ?? 'unknown';
  if (typeof flagsSource !== 'string' || !FLAGS_SOURCES.has(flagsSource)) {
    throw new EventFieldError(
      'procmemGuard.flagsSource',
      `expected one of ${[...FLAGS_SOURCES].join(', ')}, got ${describe(flagsSource)}`,
    );
  }
  const mark: CaptureMark = { procfsMem: value.procfsMem, flagsSource: flagsSource as FlagsSource };
  if (value.targetPid !== undefined)
    mark.targetPid = int(value.targetPid, 'procmemGuard.targetPid', true);
  if (value.targetTid !== undefined)
    mark.targetTid = int(value.targetTid, 'procmemGuard.targetTid', true);
  if (value.backend !== undefined)
    mark.backend = string(value.backend, 'procmemGuard.backend', true);
  if (value.notes !== undefined) mark.notes = strings(value.notes, 'notes');
  if (value.exceptions !== undefined) mark.exceptions = strings(value.exceptions, 'exceptions');
  if (value.repeats !== undefined) mark.repeats = int(value.repeats, 'procmemGuard.repeats', true);
  return mark;
}

function strings(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || !value.every((n) => typeof n === 'string'))
    throw new EventFieldError(
      `procmemGuard.${field}`,
      `expected an array of strings, got ${describe(value)}`,
    );
  return value as string[];
}

type RawArgument = { name: string; type: string; value: unknown };

/** Checks `{name, type, value}` in place: argument objects are reused, not copied. */
function checkedArguments(argsRaw: unknown[]): RawArgument[] {
  for (let i = 0; i < argsRaw.length; i++) {
    const arg = argsRaw[i];
    if (!isObject(arg)) {
      throw new EventFieldError(`args[${i}]`, `expected an object, got ${describe(arg)}`);
    }
    string(arg.name, `args[${i}].name`, true);
    string(arg.type, `args[${i}].type`, true);
  }
  return argsRaw as RawArgument[];
}

function genericArgs(argsRaw: unknown[], exact: ExactDigits | undefined): TraceeArgument[] {
  const args = checkedArguments(argsRaw);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as RawArgument;
    arg.value = argValue(args, i, exact);
  }
  return args as TraceeArgument[];
}

/** Any argument value, with rounded integers made exact. */
function argValue(args: RawArgument[], index: number, exact: ExactDigits | undefined): JsonValue {
  const { value } = args[index] as RawArgument;
  if (exact !== undefined && isRoundedInteger(value)) return exact.argValue(args, index, value);
  return exactJson(value, exact);
}

/**
 * A JSON value as parsed. From JSON.parse (with `exact`), a rounded integer in a place the
 * fast path cannot locate asks for the exact re-parse.
 */
function exactJson(value: unknown, exact: ExactDigits | undefined): JsonValue {
  if (exact !== undefined) {
    if (isRoundedInteger(value)) throw NEED_EXACT_PARSE;
    if (typeof value === 'object' && value !== null) assertNoRoundedInteger(value, 0);
  }
  return value as JsonValue;
}

function assertNoRoundedInteger(value: object, depth: number): void {
  // Absurd nesting goes to the exact parser, which reports it, instead of overflowing here.
  if (depth > MAX_JSON_DEPTH) throw NEED_EXACT_PARSE;
  // for-in rather than Object.values: no array allocated for every small object.
  for (const key in value) {
    const item = (value as Record<string, unknown>)[key];
    if (typeof item === 'number') {
      if (!Number.isSafeInteger(item) && Number.isInteger(item)) throw NEED_EXACT_PARSE;
    } else if (typeof item === 'object' && item !== null) {
      assertNoRoundedInteger(item, depth + 1);
    }
  }
}

const FILE_OPEN_ARG_NAMES = [
  'pathname',
  'flags',
  'dev',
  'inode',
  'ctime',
  'syscall_pathname',
] as const;
const CANONICAL_POSITIONS: readonly number[] = [0, 1, 2, 3, 4, 5];

/** security_file_open's six arguments, checked and in Tracee's order; extra ones follow. */
function securityFileOpenArgs(
  argsRaw: unknown[],
  exact: ExactDigits | undefined,
): SecurityFileOpenArgs {
  const args = checkedArguments(argsRaw);
  const positions = fileOpenArgPositions(args);
  const [pathname, flags, dev, inode, ctime, syscallPathname] = positions as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  stringArg(args, pathname, 'pathname');
  flagsArg(args, flags);
  u64Arg(args, dev, 'dev', exact);
  u64Arg(args, inode, 'inode', exact);
  u64Arg(args, ctime, 'ctime', exact);
  stringArg(args, syscallPathname, 'syscall_pathname');
  if (positions === CANONICAL_POSITIONS) {
    for (let i = FILE_OPEN_ARG_NAMES.length; i < args.length; i++) {
      const arg = args[i] as RawArgument;
      arg.value = argValue(args, i, exact);
    }
    return args as unknown as SecurityFileOpenArgs;
  }
  const ordered = positions.map((index) => args[index]) as RawArgument[];
  for (let i = 0; i < args.length; i++) {
    if (positions.includes(i)) continue;
    const arg = args[i] as RawArgument;
    arg.value = argValue(args, i, exact);
    ordered.push(arg);
  }
  return ordered as unknown as SecurityFileOpenArgs;
}

/** Index of each of the six arguments: Tracee's order in practice, any order accepted. */
function fileOpenArgPositions(args: RawArgument[]): readonly number[] {
  let inOrder = args.length >= FILE_OPEN_ARG_NAMES.length;
  for (let i = 0; inOrder && i < FILE_OPEN_ARG_NAMES.length; i++) {
    inOrder = args[i]?.name === FILE_OPEN_ARG_NAMES[i];
  }
  if (inOrder) return CANONICAL_POSITIONS;
  return FILE_OPEN_ARG_NAMES.map((name) => {
    const index = args.findIndex((arg) => arg.name === name);
    if (index < 0) throw new EventFieldError('args', `missing argument "${name}"`);
    return index;
  });
}

function stringArg(args: RawArgument[], index: number, name: string): void {
  string((args[index] as RawArgument).value, `args[${index}].value (${name})`, true);
}

function flagsArg(args: RawArgument[], index: number): void {
  try {
    parseOpenFlags((args[index] as RawArgument).value);
  } catch (err) {
    if (err instanceof OpenFlagsError) {
      throw new EventFieldError(`args[${index}].value (flags)`, err.message);
    }
    throw err;
  }
}

/** Converts the argument's value to an exact bigint, in place. */
function u64Arg(
  args: RawArgument[],
  index: number,
  name: string,
  exact: ExactDigits | undefined,
): void {
  const arg = args[index] as RawArgument;
  const { value } = arg;
  const field = `args[${index}].value (${name})`;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) {
    arg.value = BigInt(value);
  } else if (exact !== undefined && isRoundedInteger(value)) {
    arg.value = inU64Range(exact.argValue(args, index, value), field);
  } else {
    arg.value = inU64Range(exactInteger(value, field), field);
  }
}

// Events of one stream share one field list: remember which of its fields are extra.
interface FieldLayout {
  keys: string[];
  extraKeys: string[];
}
let lastLayout: FieldLayout = { keys: [], extraKeys: [] };

function layoutOf(raw: Record<string, unknown>): FieldLayout {
  const keys = Object.keys(raw);
  const last = lastLayout.keys;
  if (keys.length === last.length) {
    let same = true;
    for (let i = 0; i < keys.length && same; i++) same = keys[i] === last[i];
    if (same) return lastLayout;
  }
  lastLayout = {
    keys,
    extraKeys: keys.filter((key) => !KNOWN_FIELDS.has(key)),
  };
  return lastLayout;
}

function extraFields(
  raw: Record<string, unknown>,
  keys: string[],
  exact: ExactDigits | undefined,
): JsonObject | undefined {
  if (keys.length === 0) return undefined;
  const extra: JsonObject = {};
  for (const key of keys) {
    const value = raw[key];
    const kept =
      exact !== undefined && isRoundedInteger(value)
        ? exact.topLevel(key, value)
        : exactJson(value, exact);
    // A "__proto__" field must stay data instead of replacing the prototype.
    if (key === '__proto__') {
      Object.defineProperty(extra, key, {
        value: kept,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else {
      extra[key] = kept;
    }
  }
  return extra;
}
