// A reader for the one layout Tracee (and this project's writer) print security_file_open
// events in: compact JSON, fields in trace.Event's declaration order. One anchored regular
// expression checks the whole line and captures every value; 64-bit integers are made
// straight from their digits, so it needs neither JSON.parse nor the digit recovery of
// exact-numbers.ts. (A hand-written character scanner was tried first: slower than
// JSON.parse itself. The regex engine compares the fixed text natively.)
//
// It is strict by construction: the expression only admits valid JSON (integers without
// fraction or exponent, strings without escapes or control characters). Anything else,
// including an unknown flag name or an oversized number, makes it return undefined and the
// caller reads the line with the general path (JSON.parse + validation), which also words
// every error. A test compares the two on valid lines and on thousands of corrupted ones.

import { bigintFromDigits } from './exact-numbers.js';
import { OpenFlagsError, parseOpenFlags } from './open-flags.js';
import {
  type JsonObject,
  type JsonValue,
  LEADING_INTEGER_FIELDS,
  PID_MAX,
  SECURITY_FILE_OPEN,
  type SecurityFileOpenEvent,
  type TraceeContainer,
  U64_MAX,
} from './types.js';

/** A JSON integer token (no fraction, no exponent), captured. */
const INT = '(-?(?:0|[1-9][0-9]*))';
/** A JSON string with no escape and no control character. */
const PLAIN_STR = '"[^"\\\\\\u0000-\\u001f]*"';
/** The same, its content captured. */
const STR = '"([^"\\\\\\u0000-\\u001f]*)"';
/** JSON whitespace (not \s, which also matches Unicode spaces JSON does not allow). */
const SPACE = '[ \\t\\n\\r]*';

// Capture groups by name; each layout's pattern numbers them in its own order.
const GROUP_NAMES = [
  ...LEADING_INTEGER_FIELDS,
  'processName',
  'executablePath',
  'hostName',
  'containerId',
  'containerIdField',
  'containerName',
  'containerImage',
  'containerImageDigest',
  'kubernetes',
  'eventId',
  'matchedPolicies',
  'argsNum',
  'returnValue',
  'syscall',
  'stackAddresses',
  'containerStarted',
  'isCompat',
  'threadEntityId',
  'processEntityId',
  'parentEntityId',
  'pathnameType',
  'pathname',
  'flagsType',
  'flagsString',
  'flagsInt',
  'devType',
  'dev',
  'inodeType',
  'inode',
  'ctimeType',
  'ctime',
  'syscallPathnameType',
  'syscallPathname',
] as const;
type Group = (typeof GROUP_NAMES)[number];

/** Builds one layout's pattern: `w` is the whitespace allowed between tokens. */
class PatternBuilder {
  readonly groups: Group[] = [];
  constructor(readonly w: string) {}
  /** A capture group for `name`, numbered in the order the pattern is written. */
  g(name: Group, pattern: string): string {
    this.groups.push(name);
    return `(${pattern})`;
  }
  int(name: Group): string {
    return this.g(name, INT.slice(1, -1));
  }
  str(name: Group): string {
    this.groups.push(name);
    return STR;
  }
  /** `"key":` with whitespace around the colon. */
  key(name: string): string {
    return `"${name}"${this.w}:${this.w}`;
  }
  /** `,` between two members or elements. */
  get comma(): string {
    return `${this.w},${this.w}`;
  }
}

/** Tracee's top-level fields of a security_file_open event, in trace.Event's order. */
const FIELDS = [
  ...LEADING_INTEGER_FIELDS.map((name) => ({
    name,
    required: true,
    value: (b: PatternBuilder) => b.int(name),
  })),
  { name: 'processName', required: true, value: (b: PatternBuilder) => b.str('processName') },
  {
    name: 'executable',
    required: false,
    value: (b: PatternBuilder) => `\\{${b.w}${b.key('path')}${b.str('executablePath')}${b.w}\\}`,
  },
  { name: 'hostName', required: true, value: (b: PatternBuilder) => b.str('hostName') },
  { name: 'containerId', required: false, value: (b: PatternBuilder) => b.str('containerId') },
  {
    name: 'container',
    required: true,
    value: (b: PatternBuilder) =>
      `\\{${b.w}${opt(
        `${b.key('id')}${b.str('containerIdField')}` +
          opt(`${b.comma}${b.key('name')}${b.str('containerName')}`) +
          opt(`${b.comma}${b.key('image')}${b.str('containerImage')}`) +
          opt(`${b.comma}${b.key('imageDigest')}${b.str('containerImageDigest')}`) +
          b.w,
      )}\\}`,
  },
  {
    name: 'kubernetes',
    required: false,
    value: (b: PatternBuilder) => b.g('kubernetes', `\\{${b.w}\\}`),
  },
  { name: 'eventId', required: true, value: (b: PatternBuilder) => `"${b.int('eventId')}"` },
  { name: 'eventName', required: true, value: () => `"${SECURITY_FILE_OPEN}"` },
  {
    name: 'matchedPolicies',
    required: false,
    value: (b: PatternBuilder) =>
      `\\[${b.w}${b.g('matchedPolicies', opt(`${PLAIN_STR}(?:${b.comma}${PLAIN_STR})*`))}${b.w}\\]`,
  },
  { name: 'argsNum', required: true, value: (b: PatternBuilder) => b.int('argsNum') },
  { name: 'returnValue', required: true, value: (b: PatternBuilder) => b.int('returnValue') },
  { name: 'syscall', required: true, value: (b: PatternBuilder) => b.str('syscall') },
  {
    name: 'stackAddresses',
    required: false,
    value: (b: PatternBuilder) => b.g('stackAddresses', 'null'),
  },
  {
    name: 'contextFlags',
    required: false,
    value: (b: PatternBuilder) =>
      `\\{${b.w}${b.key('containerStarted')}${b.g('containerStarted', 'true|false')}` +
      `${b.comma}${b.key('isCompat')}${b.g('isCompat', 'true|false')}${b.w}\\}`,
  },
  {
    name: 'threadEntityId',
    required: false,
    value: (b: PatternBuilder) => b.int('threadEntityId'),
  },
  {
    name: 'processEntityId',
    required: false,
    value: (b: PatternBuilder) => b.int('processEntityId'),
  },
  {
    name: 'parentEntityId',
    required: false,
    value: (b: PatternBuilder) => b.int('parentEntityId'),
  },
  {
    name: 'args',
    required: true,
    value: (b: PatternBuilder) => {
      // `value` is called after the type's group is numbered: groups count in pattern order.
      const arg = (name: string, type: Group, value: () => string) =>
        `\\{${b.w}${b.key('name')}"${name}"${b.comma}${b.key('type')}${b.str(type)}` +
        `${b.comma}${b.key('value')}${value()}${b.w}\\}`;
      return (
        `\\[${b.w}` +
        [
          arg('pathname', 'pathnameType', () => b.str('pathname')),
          arg('flags', 'flagsType', () => `(?:${b.str('flagsString')}|${b.int('flagsInt')})`),
          arg('dev', 'devType', () => b.int('dev')),
          arg('inode', 'inodeType', () => b.int('inode')),
          arg('ctime', 'ctimeType', () => b.int('ctime')),
          arg('syscall_pathname', 'syscallPathnameType', () => b.str('syscallPathname')),
        ].join(b.comma) +
        `${b.w}\\]`
      );
    },
  },
] as const;
const FIELD_BY_NAME = new Map<string, (typeof FIELDS)[number]>(FIELDS.map((f) => [f.name, f]));

/** Fields the model keeps in `extra`, in Tracee's order. */
const EXTRA_FIELDS = [
  'kubernetes',
  'matchedPolicies',
  'stackAddresses',
  'contextFlags',
  'threadEntityId',
  'processEntityId',
  'parentEntityId',
] as const;
type ExtraField = (typeof EXTRA_FIELDS)[number];

function opt(text: string): string {
  return `(?:${text})?`;
}

interface Layout {
  regex: RegExp;
  /** Capture group number of each name. */
  group: Record<Group, number>;
  /** The `extra` fields in the order this layout has them. */
  extraOrder: readonly ExtraField[];
}

function layout(b: PatternBuilder, source: string, extraOrder: readonly ExtraField[]): Layout {
  // -1 for a group the layout lacks: m[-1] is undefined, as for an optional group not taken.
  const group = Object.fromEntries(GROUP_NAMES.map((name) => [name, -1])) as Record<Group, number>;
  b.groups.forEach((name, i) => {
    group[name] = i + 1;
  });
  const regex = new RegExp(source);
  // The group list and the pattern must agree; an empty alternative makes every group count.
  if ((new RegExp(`${source}|`).exec('')?.length ?? 0) - 1 !== b.groups.length) {
    throw new Error('tracee-layout: capture groups and pattern disagree');
  }
  return { regex, group, extraOrder };
}

/** Tracee's own layout: compact, trace.Event's order, optional fields optional. */
function traceeLayout(): Layout {
  const b = new PatternBuilder('');
  const parts = FIELDS.map((field, i) => {
    const member = `${i === 0 ? '' : ','}${b.key(field.name)}${field.value(b)}`;
    return field.required ? member : opt(member);
  });
  return layout(b, `^\\{${parts.join('')}\\}$`, EXTRA_FIELDS);
}

/**
 * The layout of one line the general path read: these fields, in this order, each required,
 * with JSON whitespace allowed between any two tokens. Undefined when the line has a field
 * this reader does not know (the general path keeps reading such lines).
 */
function learnedLayout(keys: readonly string[]): Layout | undefined {
  const fields = keys.map((key) => FIELD_BY_NAME.get(key));
  for (const field of FIELDS) {
    if (field.required && !keys.includes(field.name)) return undefined;
  }
  if (fields.some((field) => field === undefined) || new Set(keys).size !== keys.length) {
    return undefined;
  }
  const b = new PatternBuilder(SPACE);
  const members = (fields as (typeof FIELDS)[number][]).map(
    (field) => `${b.key(field.name)}${field.value(b)}`,
  );
  const source = `^${SPACE}\\{${SPACE}${members.join(b.comma)}${SPACE}\\}${SPACE}$`;
  const extraOrder = keys.filter((key): key is ExtraField =>
    (EXTRA_FIELDS as readonly string[]).includes(key),
  );
  return layout(b, source, extraOrder);
}

const TRACEE = traceeLayout();
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
  const value = bigintFromDigits(text, 0, text.length);
  if (value > U64_MAX) throw DECLINE;
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
  let m = TRACEE.regex.exec(line);
  if (m === null && learned !== undefined) {
    used = learned;
    m = learned.regex.exec(line);
  }
  if (m === null) return undefined;
  try {
    return build(m, used);
  } catch (err) {
    if (err === DECLINE) return undefined;
    throw err;
  }
}

function build(m: Array<string | undefined>, layout: Layout): SecurityFileOpenEvent {
  const G = layout.group;
  const eventIdText = m[G.eventId] as string;
  // The general path's limits: at most 10 characters, and "-0" does not read back as itself.
  if (eventIdText.length > 10 || eventIdText === '-0') throw DECLINE;
  const flagsString = m[G.flagsString];
  const flags = flagsString === undefined ? int(m[G.flagsInt] as string) : flagsString;
  try {
    parseOpenFlags(flags);
  } catch (err) {
    if (err instanceof OpenFlagsError) throw DECLINE; // the general path words the error
    throw err;
  }
  const container: TraceeContainer = {};
  const containerIdField = m[G.containerIdField];
  if (containerIdField !== undefined) {
    container.id = containerIdField;
    const name = m[G.containerName];
    if (name !== undefined) container.name = name;
    const image = m[G.containerImage];
    if (image !== undefined) container.image = image;
    const imageDigest = m[G.containerImageDigest];
    if (imageDigest !== undefined) container.imageDigest = imageDigest;
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
    processName: m[G.processName] as string,
    executable: { path: m[G.executablePath] ?? '' },
    hostName: m[G.hostName] as string,
    containerId: m[G.containerId] ?? '',
    container,
    eventId: int(eventIdText),
    eventName: SECURITY_FILE_OPEN,
    argsNum: int(m[G.argsNum] as string),
    returnValue: int(m[G.returnValue] as string),
    syscall: m[G.syscall] as string,
    args: [
      { name: 'pathname', type: m[G.pathnameType] as string, value: m[G.pathname] as string },
      { name: 'flags', type: m[G.flagsType] as string, value: flags },
      { name: 'dev', type: m[G.devType] as string, value: u64(m[G.dev] as string) },
      { name: 'inode', type: m[G.inodeType] as string, value: u64(m[G.inode] as string) },
      { name: 'ctime', type: m[G.ctimeType] as string, value: u64(m[G.ctime] as string) },
      {
        name: 'syscall_pathname',
        type: m[G.syscallPathnameType] as string,
        value: m[G.syscallPathname] as string,
      },
    ],
  };
  const extra = extraFields(m, layout);
  if (extra !== undefined) event.extra = extra;
  return event;
}

/** The Tracee fields the model keeps in `extra`, in the line's order, as the general path. */
function extraFields(m: Array<string | undefined>, layout: Layout): JsonObject | undefined {
  const G = layout.group;
  let extra: JsonObject | undefined;
  for (const field of layout.extraOrder) {
    const value = extraValue(m, G, field);
    if (value === undefined) continue;
    extra ??= {};
    extra[field] = value;
  }
  return extra;
}

function extraValue(
  m: Array<string | undefined>,
  G: Record<Group, number>,
  field: ExtraField,
): JsonValue | undefined {
  switch (field) {
    case 'kubernetes':
      return m[G.kubernetes] === undefined ? undefined : {};
    case 'matchedPolicies': {
      const policies = m[G.matchedPolicies];
      if (policies === undefined) return undefined;
      // The strings hold no escapes, so the list is valid JSON as it stands.
      return policies === '""' ? [''] : (JSON.parse(`[${policies}]`) as string[]);
    }
    case 'stackAddresses':
      return m[G.stackAddresses] === undefined ? undefined : null;
    case 'contextFlags': {
      const containerStarted = m[G.containerStarted];
      if (containerStarted === undefined) return undefined;
      return { containerStarted: containerStarted === 'true', isCompat: m[G.isCompat] === 'true' };
    }
    default: {
      const id = m[G[field]];
      return id === undefined ? undefined : int(id);
    }
  }
}
