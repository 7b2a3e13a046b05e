// Reads one line of Tracee JSON output into a validated, typed event: the fast reader for
// Tracee's layout (tracee-layout.ts) first, else JSON.parse and the field checks
// (field-checks.ts, file-open-args.ts), which word every error.

import { parseJsonExact } from './exact-json.js';
import { ExactDigits, NEED_EXACT_PARSE } from './exact-numbers.js';
import {
  describe,
  EventFieldError,
  exactInteger,
  exactJson,
  int,
  inU64Range,
  isObject,
  isRoundedInteger,
  pid,
  string,
  u64,
} from './field-checks.js';
import { genericArgs, securityFileOpenArgs } from './file-open-args.js';
import { printable } from './printable.js';
import { learnLayout, readTraceeLayout } from './tracee-layout.js';
import {
  type CaptureMark,
  type FlagsSource,
  GUARD_ACTIONS,
  type GuardAction,
  type JsonObject,
  type JsonValue,
  LEADING_INTEGER_FIELDS,
  SECURITY_FILE_OPEN,
  SECURITY_FILE_OPEN_EVENT_ID,
  TARGET_RELATIONS,
  type TargetInfo,
  type TargetRelation,
  type TraceeContainer,
  type TraceeEvent,
  U32_MAX,
} from './types.js';

export { EventFieldError };

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
  if (raw.procmemGuard !== undefined) event.procmemGuard = captureMark(raw.procmemGuard, exact);
  const extra = extraFields(raw, layout.extraKeys, exact);
  if (extra !== undefined) event.extra = extra;
  return event;
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

function captureMark(value: unknown, exact: ExactDigits | undefined): CaptureMark {
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
  if (value.target !== undefined) mark.target = targetInfo(value.target, exact);
  if (value.parentExe !== undefined)
    mark.parentExe = string(value.parentExe, 'procmemGuard.parentExe', true);
  if (value.action !== undefined) {
    if (!(GUARD_ACTIONS as readonly unknown[]).includes(value.action))
      throw new EventFieldError(
        'procmemGuard.action',
        `expected one of ${GUARD_ACTIONS.join(', ')}, got ${describe(value.action)}`,
      );
    mark.action = value.action as GuardAction;
  }
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

/** procmemGuard.target; unknown keys are ignored, as in the rest of the mark. */
function targetInfo(value: unknown, exact: ExactDigits | undefined): TargetInfo {
  const at = 'procmemGuard.target';
  if (!isObject(value)) throw new EventFieldError(at, `expected an object, got ${describe(value)}`);
  const target: TargetInfo = {
    pid: pid(value.pid, `${at}.pid`, true),
    tid: pid(value.tid, `${at}.tid`, true),
  };
  if (value.comm !== undefined) target.comm = string(value.comm, `${at}.comm`, true);
  if (value.exe !== undefined) target.exe = string(value.exe, `${at}.exe`, true);
  if (value.uid !== undefined) {
    const uid = int(value.uid, `${at}.uid`, true);
    if (uid < 0 || uid > U32_MAX) {
      throw new EventFieldError(`${at}.uid`, `expected a uid (0 to ${U32_MAX}), got number ${uid}`);
    }
    target.uid = uid;
  }
  if (value.containerId !== undefined)
    target.containerId = string(value.containerId, `${at}.containerId`, true);
  if (value.startTime !== undefined) {
    // Nested: the digit recovery finds top-level fields only; the exact parser reads it.
    if (exact !== undefined && isRoundedInteger(value.startTime)) throw NEED_EXACT_PARSE;
    target.startTime = inU64Range(
      exactInteger(value.startTime, `${at}.startTime`),
      `${at}.startTime`,
    );
  }
  if (value.relation !== undefined) {
    if (!TARGET_RELATIONS.includes(value.relation as TargetRelation)) {
      throw new EventFieldError(
        `${at}.relation`,
        `expected one of ${TARGET_RELATIONS.join(', ')}, got ${describe(value.relation)}`,
      );
    }
    target.relation = value.relation as TargetRelation;
  }
  return target;
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
