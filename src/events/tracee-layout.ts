// The fast reader for security_file_open lines. One anchored regular expression per layout
// checks the whole line and captures every value; 64-bit integers are made straight from
// their digits, so it needs neither JSON.parse nor the digit recovery of exact-numbers.ts.
// (A hand-written character scanner was tried first: slower than JSON.parse itself. The
// regex engine compares the fixed text natively.)
//
// Two layouts are tried: Tracee's own (compact JSON, fields in trace.Event's declaration
// order, optional fields optional; also what this project writes), and one learned from the
// input: when the general path reads a security_file_open line, the reader is told its field
// order and builds an expression for exactly those fields in that order, with JSON
// whitespace allowed between any two tokens and unknown fields holding any JSON value up to
// one level of nesting. Replay of a file in one layout thus reads its first line with the
// general path and the rest with the fast one, whatever the whitespace and field order.
//
// It is strict by construction: the expressions only admit valid JSON (strings with valid
// escapes and no control characters, integers without fraction or exponent where the model
// wants integers). Anything else, including an unknown flag name, an out-of-range number or
// a nested unknown field, makes it return undefined and the caller reads the line with the
// general path (JSON.parse + validation), which also words every error. Tests compare the
// two on valid lines in many layouts and on thousands of corrupted ones.

import { parseJsonExact } from './exact-json.js';
import { OpenFlagsError, parseOpenFlags } from './open-flags.js';
import {
  FIELD_BY_NAME,
  FIELDS,
  GROUP_NAMES,
  type Group,
  opt,
  PatternBuilder,
  SPACE,
  UNKNOWN,
} from './tracee-fields.js';
import {
  type CaptureMark,
  type FlagsSource,
  type JsonObject,
  type JsonValue,
  PID_MAX,
  SECURITY_FILE_OPEN,
  type SecurityFileOpenEvent,
  type TargetInfo,
  type TargetRelation,
  TRACEE_EXTRA_FIELDS,
  type TraceeContainer,
  U32_MAX,
  U64_MAX,
} from './types.js';

/** Fields the model keeps in `extra`, in Tracee's order. */
const EXTRA_FIELDS = TRACEE_EXTRA_FIELDS;
type ExtraField = (typeof EXTRA_FIELDS)[number];

/** A field kept in `extra`: one the model knows by name, or an unknown one's key and group. */
type ExtraSlot = ExtraField | { key: string; group: number };

interface Layout {
  regex: RegExp;
  /**
   * For a learned layout, the group of the match that holds each of Tracee's layout's groups
   * (-1: none, read as undefined, as an optional group not taken). build() reads
   * captures by Tracee's layout's numbers, which are constants it can fold.
   */
  remap: Int32Array | undefined;
  /** The `extra` fields in the order this layout has them. */
  extraOrder: readonly ExtraSlot[];
}

function layout(
  b: PatternBuilder,
  source: string,
  extraOrder: readonly (ExtraField | string)[],
  canonical?: Record<Group, number>,
): Layout {
  const unknownGroups: number[] = [];
  let remap: Int32Array | undefined;
  if (canonical !== undefined) {
    remap = new Int32Array(GROUP_NAMES.length + 1).fill(-1);
    b.groups.forEach((name, i) => {
      if (name === UNKNOWN) unknownGroups.push(i + 1);
      else (remap as Int32Array)[canonical[name as Group]] = i + 1;
    });
  }
  // Unknown fields' groups come in pattern order, which is the order of extraOrder.
  let next = 0;
  const slots = extraOrder.map(
    (key): ExtraSlot => (isExtraField(key) ? key : { key, group: unknownGroups[next++] as number }),
  );
  const regex = new RegExp(source);
  // The group list and the pattern must agree; an empty alternative makes every group count.
  if ((new RegExp(`${source}|`).exec('')?.length ?? 0) - 1 !== b.groups.length) {
    throw new Error('tracee-layout: capture groups and pattern disagree');
  }
  return { regex, remap, extraOrder: slots };
}

function isExtraField(key: string): key is ExtraField {
  return (EXTRA_FIELDS as readonly string[]).includes(key);
}

/** Tracee's own layout: compact, trace.Event's order, optional fields optional. */
function traceeLayout(): { layout: Layout; groups: Record<Group, number> } {
  const b = new PatternBuilder('');
  const parts = FIELDS.map((field, i) => {
    const member = `${i === 0 ? '' : ','}${b.key(field.name)}${field.value(b)}`;
    return field.required ? member : opt(member);
  });
  // Made in one go and never written: the optimiser folds loads from it into constants.
  const groups = Object.fromEntries(b.groups.map((name, i) => [name, i + 1])) as Record<
    Group,
    number
  >;
  if (GROUP_NAMES.some((name) => groups[name] === undefined)) {
    throw new Error('tracee-layout: a group is missing from Tracee layout');
  }
  return { layout: layout(b, `^\\{${parts.join('')}\\}$`, EXTRA_FIELDS), groups };
}

/**
 * The layout of one line the general path read: these fields, in this order, each required,
 * with JSON whitespace allowed between any two tokens. Undefined when the line has a field
 * this reader does not know (the general path keeps reading such lines).
 */
function learnedLayout(keys: readonly string[]): Layout | undefined {
  for (const field of FIELDS) {
    if (field.required && !keys.includes(field.name)) return undefined;
  }
  if (new Set(keys).size !== keys.length) return undefined;
  const b = new PatternBuilder(SPACE);
  const members: string[] = [];
  for (const key of keys) {
    const field = FIELD_BY_NAME.get(key);
    if (field !== undefined) members.push(`${b.key(field.name)}${field.value(b)}`);
    // Keys with quotes, backslashes or non-ASCII stay with the general path.
    else if (!/^[\x20-\x7e]*$/.test(key) || /["\\]/.test(key)) {
      return undefined;
    } else members.push(`${b.key(key.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'))}${b.unknown()}`);
  }
  const source = `^${SPACE}\\{${SPACE}${members.join(b.comma)}${SPACE}\\}${SPACE}$`;
  // Every key the model does not name goes to `extra`, in the line's order.
  const extraOrder = keys.filter((key) => isExtraField(key) || !FIELD_BY_NAME.has(key));
  return layout(b, source, extraOrder, G);
}

const { layout: TRACEE, groups: G } = traceeLayout();
/** The layout learned from the input (see learnLayout), tried after Tracee's own. */
let learned: Layout | undefined;
let learnedKeys: readonly string[] = [];
/** Lines read since the last layout was learned: relearning is rate-limited. */
let sinceLearned = 0;
const RELEARN_AFTER_LINES = 256;

/**
 * Tells the reader the top-level field order of a security_file_open line the general path
 * just read. When it differs from the learned layout (and enough lines went by since the
 * last change, so that input alternating between layouts cannot make every line compile a
 * pattern), later lines in that layout take the fast reader.
 */
export function learnLayout(keys: readonly string[]): void {
  if (learned !== undefined && sinceLearned < RELEARN_AFTER_LINES) return;
  if (keys.length === learnedKeys.length && keys.every((key, i) => key === learnedKeys[i])) return;
  learnedKeys = [...keys];
  learned = learnedLayout(keys);
  sinceLearned = 0;
}

/** Forgets the learned layout (tests). */
export function forgetLayout(): void {
  learned = undefined;
  learnedKeys = [];
  sinceLearned = 0;
}

/** Thrown to abandon the fast path; never escapes this module. */
const DECLINE = Object.freeze({ decline: true });

/** A safe integer from an INT capture, or DECLINE past 15 digits (the general path decides). */
function int(text: string): number {
  const negative = text.charCodeAt(0) === 0x2d;
  if (text.length - (negative ? 1 : 0) > 15) throw DECLINE;
  let value = 0;
  for (let i = negative ? 1 : 0; i < text.length; i++)
    value = value * 10 + text.charCodeAt(i) - 0x30;
  return negative ? -value : value;
}

/** A 64-bit unsigned value; DECLINE when out of range (the general path names the field). */
function u64(text: string): bigint {
  if (text.charCodeAt(0) === 0x2d) throw DECLINE;
  if (text.length <= 15) return BigInt(int(text));
  if (text.length > 20) throw DECLINE;
  const value = BigInt(text);
  // 2^64 has 20 digits: shorter values are in range.
  if (text.length === 20 && value > U64_MAX) throw DECLINE;
  return value;
}

/** A process or thread id: pid_t, never negative. */
function pid(text: string): number {
  const value = int(text);
  if (value < 0 || value > PID_MAX) throw DECLINE;
  return value;
}

/**
 * Reads a security_file_open line in Tracee's layout into an event, or returns undefined
 * when the line is anything else (the caller then uses the general path).
 */
export function readTraceeLayout(line: string): SecurityFileOpenEvent | undefined {
  sinceLearned++;
  let used = TRACEE;
  let m: RegExpExecArray | null;
  try {
    m = TRACEE.regex.exec(line);
    if (m === null && learned !== undefined) {
      used = learned;
      m = learned.regex.exec(line);
    }
  } catch {
    // The regex engine's backtrack stack has a limit: a repetition of about two million
    // items (say, an array in an unknown field) throws RangeError. The general path reads it.
    return undefined;
  }
  if (m === null) return undefined;
  const { remap } = used;
  let captures: Array<string | undefined> = m;
  if (remap !== undefined) {
    captures = new Array(remap.length);
    for (let i = 1; i < remap.length; i++) {
      const group = remap[i] as number;
      // Not m[-1]: a negative index is a named-property lookup, and a slow one.
      captures[i] = group < 0 ? undefined : m[group];
    }
  }
  try {
    // Most lines hold no escape at all: then every captured string is its own value.
    return build(captures, m, used, line.indexOf('\\') === -1 ? verbatim : text);
  } catch (err) {
    if (err === DECLINE) return undefined;
    throw err;
  }
}

/** `m`: captures by Tracee's layout's group numbers; `match`: as the layout's expression. */
function build(
  m: Array<string | undefined>,
  match: Array<string | undefined>,
  layout: Layout,
  text: (raw: string) => string,
): SecurityFileOpenEvent {
  const eventIdText = m[G.eventId] as string;
  // The general path's limits: at most 10 characters, and "-0" does not read back as itself.
  if (eventIdText.length > 10 || eventIdText === '-0') throw DECLINE;
  const flagsString = m[G.flagsString];
  const flags = flagsString === undefined ? int(m[G.flagsInt] as string) : text(flagsString);
  try {
    parseOpenFlags(flags);
  } catch (err) {
    if (err instanceof OpenFlagsError) throw DECLINE; // the general path words the error
    throw err;
  }
  const container: TraceeContainer = {};
  const containerIdField = m[G.containerIdField];
  if (containerIdField !== undefined) {
    container.id = text(containerIdField);
    const name = m[G.containerName];
    if (name !== undefined) container.name = text(name);
    const image = m[G.containerImage];
    if (image !== undefined) container.image = text(image);
    const imageDigest = m[G.containerImageDigest];
    if (imageDigest !== undefined) container.imageDigest = text(imageDigest);
  }
  const event: SecurityFileOpenEvent = {
    timestamp: u64(m[G.timestamp] as string),
    threadStartTime: u64(m[G.threadStartTime] as string),
    processorId: int(m[G.processorId] as string),
    processId: pid(m[G.processId] as string),
    cgroupId: u64(m[G.cgroupId] as string),
    threadId: pid(m[G.threadId] as string),
    parentProcessId: pid(m[G.parentProcessId] as string),
    hostProcessId: pid(m[G.hostProcessId] as string),
    hostThreadId: pid(m[G.hostThreadId] as string),
    hostParentProcessId: pid(m[G.hostParentProcessId] as string),
    userId: int(m[G.userId] as string),
    mountNamespace: int(m[G.mountNamespace] as string),
    pidNamespace: int(m[G.pidNamespace] as string),
    processName: text(m[G.processName] as string),
    executable: { path: text(m[G.executablePath] ?? '') },
    hostName: text(m[G.hostName] as string),
    containerId: text(m[G.containerId] ?? ''),
    container,
    eventId: int(eventIdText),
    eventName: SECURITY_FILE_OPEN,
    argsNum: int(m[G.argsNum] as string),
    returnValue: int(m[G.returnValue] as string),
    syscall: text(m[G.syscall] as string),
    args: [
      {
        name: 'pathname',
        type: text(m[G.pathnameType] as string),
        value: text(m[G.pathname] as string),
      },
      { name: 'flags', type: text(m[G.flagsType] as string), value: flags },
      { name: 'dev', type: text(m[G.devType] as string), value: u64(m[G.dev] as string) },
      { name: 'inode', type: text(m[G.inodeType] as string), value: u64(m[G.inode] as string) },
      { name: 'ctime', type: text(m[G.ctimeType] as string), value: u64(m[G.ctime] as string) },
      {
        name: 'syscall_pathname',
        type: text(m[G.syscallPathnameType] as string),
        value: text(m[G.syscallPathname] as string),
      },
    ],
  };
  // In the general path's order: the mark, then the extra fields.
  const procfsMem = m[G.procfsMem];
  if (procfsMem !== undefined) event.procmemGuard = captureMark(m, procfsMem === 'true', text);
  const extra = extraFields(m, match, layout);
  if (extra !== undefined) event.extra = extra;
  return event;
}

/** procmemGuard, with its fields in the order the general path sets them. */
function captureMark(
  m: Array<string | undefined>,
  procfsMem: boolean,
  text: (raw: string) => string,
): CaptureMark {
  const mark: CaptureMark = { procfsMem, flagsSource: m[G.flagsSource] as FlagsSource };
  const targetPid = m[G.targetPid];
  if (targetPid !== undefined) mark.targetPid = int(targetPid);
  const targetTid = m[G.targetTid];
  if (targetTid !== undefined) mark.targetTid = int(targetTid);
  const backend = m[G.backend];
  if (backend !== undefined) mark.backend = text(backend);
  const notes = m[G.notes];
  if (notes !== undefined) mark.notes = JSON.parse(`[${notes}]`) as string[];
  const infoPid = m[G.targetInfoPid];
  if (infoPid !== undefined) mark.target = targetInfo(m, infoPid, text);
  const parentExe = m[G.parentExe];
  if (parentExe !== undefined) mark.parentExe = text(parentExe);
  return mark;
}

/** procmemGuard.target, its fields in the order the general path sets them. */
function targetInfo(
  m: Array<string | undefined>,
  infoPid: string,
  text: (raw: string) => string,
): TargetInfo {
  const target: TargetInfo = { pid: pid(infoPid), tid: pid(m[G.targetInfoTid] as string) };
  const comm = m[G.targetComm];
  if (comm !== undefined) target.comm = text(comm);
  const exe = m[G.targetExe];
  if (exe !== undefined) target.exe = text(exe);
  const uid = m[G.targetUid];
  if (uid !== undefined) {
    target.uid = int(uid);
    if (target.uid < 0 || target.uid > U32_MAX) throw DECLINE;
  }
  const containerId = m[G.targetContainerId];
  if (containerId !== undefined) target.containerId = text(containerId);
  const startTime = m[G.targetStartTime];
  if (startTime !== undefined) target.startTime = u64(startTime);
  const relation = m[G.targetRelation];
  if (relation !== undefined) target.relation = relation as TargetRelation;
  return target;
}

/** A captured string token's content, decoded. */
function text(raw: string): string {
  return raw.indexOf('\\') === -1 ? raw : (JSON.parse(`"${raw}"`) as string);
}

/** The same for a line without a backslash. */
function verbatim(raw: string): string {
  return raw;
}

/** The Tracee fields the model keeps in `extra`, in the line's order, as the general path. */
function extraFields(
  m: Array<string | undefined>,
  match: Array<string | undefined>,
  layout: Layout,
): JsonObject | undefined {
  if (layout === TRACEE) return traceeExtraFields(m);
  let extra: JsonObject | undefined;
  for (const slot of layout.extraOrder) {
    if (typeof slot === 'string') {
      const value = extraValue(m, slot);
      if (value === undefined) continue;
      extra ??= {};
      extra[slot] = value;
    } else {
      extra ??= {};
      // defineProperty: a "__proto__" field must stay data instead of replacing the prototype.
      Object.defineProperty(extra, slot.key, {
        value: unknownValue(match[slot.group] as string),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
  }
  return extra;
}

/** extraFields for Tracee's layout: named stores, each site sees one key (cheaper). */
function traceeExtraFields(m: Array<string | undefined>): JsonObject | undefined {
  // Most lines carry all of them; build the object only if one is there.
  if (
    m[G.kubernetes] === undefined &&
    m[G.matchedPolicies] === undefined &&
    m[G.stackAddresses] === undefined &&
    m[G.containerStarted] === undefined &&
    m[G.threadEntityId] === undefined &&
    m[G.processEntityId] === undefined &&
    m[G.parentEntityId] === undefined
  ) {
    return undefined;
  }
  const extra: JsonObject = {};
  if (m[G.kubernetes] !== undefined) extra.kubernetes = {};
  const policies = extraValue(m, 'matchedPolicies');
  if (policies !== undefined) extra.matchedPolicies = policies;
  if (m[G.stackAddresses] !== undefined) extra.stackAddresses = null;
  const contextFlags = extraValue(m, 'contextFlags');
  if (contextFlags !== undefined) extra.contextFlags = contextFlags;
  const threadEntityId = m[G.threadEntityId];
  if (threadEntityId !== undefined) extra.threadEntityId = int(threadEntityId);
  const processEntityId = m[G.processEntityId];
  if (processEntityId !== undefined) extra.processEntityId = int(processEntityId);
  const parentEntityId = m[G.parentEntityId];
  if (parentEntityId !== undefined) extra.parentEntityId = int(parentEntityId);
  return extra;
}

/** The value of an unknown field, as the general path reads it (64-bit integers exact). */
function unknownValue(text: string): JsonValue {
  const c = text.charCodeAt(0);
  if (c === 0x22) return JSON.parse(text) as string;
  if (c === 0x7b || c === 0x5b) return parseJsonExact(text);
  if (c === 0x74) return true;
  if (c === 0x66) return false;
  if (c === 0x6e) return null;
  const value = Number(text);
  if (Number.isSafeInteger(value) || !Number.isInteger(value)) return value;
  // A rounded integer: exact if the token is an integer, as JSON.parse read it otherwise.
  return /^-?[0-9]+$/.test(text) ? BigInt(text) : value;
}

function extraValue(m: Array<string | undefined>, field: ExtraField): JsonValue | undefined {
  switch (field) {
    case 'kubernetes':
      return m[G.kubernetes] === undefined ? undefined : {};
    case 'matchedPolicies': {
      const policies = m[G.matchedPolicies];
      if (policies === undefined) return undefined;
      // A list of JSON strings as it stands.
      return policies === '""' ? [''] : (JSON.parse(`[${policies}]`) as string[]);
    }
    case 'stackAddresses':
      return m[G.stackAddresses] === undefined ? undefined : null;
    case 'contextFlags': {
      const containerStarted = m[G.containerStarted];
      if (containerStarted === undefined) return undefined;
      return { containerStarted: containerStarted === 'true', isCompat: m[G.isCompat] === 'true' };
    }
    case 'threadEntityId':
      return optionalInt(m[G.threadEntityId]);
    case 'processEntityId':
      return optionalInt(m[G.processEntityId]);
    case 'parentEntityId':
      return optionalInt(m[G.parentEntityId]);
  }
}

function optionalInt(text: string | undefined): number | undefined {
  return text === undefined ? undefined : int(text);
}
