// Tracee's security_file_open fields as the fast reader matches them: the JSON tokens, the
// capture groups by name, and for each top-level field (in trace.Event's order) whether it is
// required and the pattern of its value. tracee-layout.ts builds its layouts' expressions from
// this table and reads lines with them.
import { LEADING_INTEGER_FIELDS, SECURITY_FILE_OPEN, TARGET_RELATIONS } from './types.js';

/** A JSON integer token (no fraction, no exponent), captured. */
export const INT = '(-?(?:0|[1-9][0-9]*))';
/** A JSON string token's content: characters other than '"', '\\' and controls, and escapes. */
const STRING_BODY =
  '[^"\\\\\\u0000-\\u001f]*(?:\\\\(?:["\\\\/bfnrt]|u[0-9a-fA-F]{4})[^"\\\\\\u0000-\\u001f]*)*';
/** A JSON string. */
const PLAIN_STR = `"${STRING_BODY}"`;
/** The same, its content captured (see text()). */
const STR = `"(${STRING_BODY})"`;
/** Any JSON number token. */
const NUMBER = '-?(?:0|[1-9][0-9]*)(?:\\.[0-9]+)?(?:[eE][+-]?[0-9]+)?';
/** JSON whitespace (not \s, which also matches Unicode spaces JSON does not allow). */
export const SPACE = '[ \\t\\n\\r]*';

// Capture groups by name; each layout's pattern numbers them in its own order.
export const GROUP_NAMES = [
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
  'procfsMem',
  'targetPid',
  'targetTid',
  'flagsSource',
  'backend',
  'notes',
  'targetInfoPid',
  'targetInfoTid',
  'targetComm',
  'targetExe',
  'targetUid',
  'targetContainerId',
  'targetStartTime',
  'targetRelation',
  'parentExe',
] as const;
export type Group = (typeof GROUP_NAMES)[number];

/** Builds one layout's pattern: `w` is the whitespace allowed between tokens. */
export class PatternBuilder {
  /** Group names in pattern order; UNKNOWN for the value of a field the model does not name. */
  readonly groups: string[] = [];
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
  /**
   * Any JSON value but objects and arrays nested in objects or arrays, captured: what an
   * unknown field of a learned layout may hold. (A regular expression cannot match nesting;
   * deeper values take the general path.) Each whitespace run has one place to go, so a
   * failing match backtracks linearly.
   */
  unknown(): string {
    const { w, comma } = this;
    const scalar = `(?:${PLAIN_STR}|${NUMBER}|true|false|null)`;
    const member = `${PLAIN_STR}${w}:${w}${scalar}`;
    const object = `\\{${w}(?:${member}(?:${comma}${member})*${w})?\\}`;
    const array = `\\[${w}(?:${scalar}(?:${comma}${scalar})*${w})?\\]`;
    this.groups.push(UNKNOWN);
    return `(${scalar}|${object}|${array})`;
  }
}

export const UNKNOWN = '(unknown)';

/** Tracee's top-level fields of a security_file_open event, in trace.Event's order. */
export const FIELDS = [
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
      // The group takes the whitespace too: one place for each run (linear backtracking).
      `\\[${b.g('matchedPolicies', `${b.w}${opt(`${PLAIN_STR}(?:${b.comma}${PLAIN_STR})*${b.w}`)}`)}\\]`,
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
    // procmem-guard's own capture mark, as serializeCaptureMark writes it.
    name: 'procmemGuard',
    required: false,
    value: (b: PatternBuilder) =>
      `\\{${b.w}${b.key('procfsMem')}${b.g('procfsMem', 'true|false')}` +
      opt(`${b.comma}${b.key('targetPid')}${b.int('targetPid')}`) +
      opt(`${b.comma}${b.key('targetTid')}${b.int('targetTid')}`) +
      `${b.comma}${b.key('flagsSource')}"${b.g('flagsSource', 'fdinfo|inferred|syscall|kernel|unknown|tracee')}"` +
      opt(`${b.comma}${b.key('backend')}${b.str('backend')}`) +
      opt(
        `${b.comma}${b.key('notes')}\\[${b.g('notes', `${b.w}${opt(`${PLAIN_STR}(?:${b.comma}${PLAIN_STR})*${b.w}`)}`)}\\]`,
      ) +
      opt(
        `${b.comma}${b.key('target')}\\{${b.w}${b.key('pid')}${b.int('targetInfoPid')}` +
          `${b.comma}${b.key('tid')}${b.int('targetInfoTid')}` +
          opt(`${b.comma}${b.key('comm')}${b.str('targetComm')}`) +
          opt(`${b.comma}${b.key('exe')}${b.str('targetExe')}`) +
          opt(`${b.comma}${b.key('uid')}${b.int('targetUid')}`) +
          opt(`${b.comma}${b.key('containerId')}${b.str('targetContainerId')}`) +
          opt(`${b.comma}${b.key('startTime')}${b.int('targetStartTime')}`) +
          opt(
            `${b.comma}${b.key('relation')}"${b.g('targetRelation', TARGET_RELATIONS.join('|'))}"`,
          ) +
          `${b.w}\\}`,
      ) +
      opt(`${b.comma}${b.key('parentExe')}${b.str('parentExe')}`) +
      `${b.w}\\}`,
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
export const FIELD_BY_NAME = new Map<string, (typeof FIELDS)[number]>(
  FIELDS.map((f) => [f.name, f]),
);

/** An optional part of a pattern. */
export function opt(text: string): string {
  return `(?:${text})?`;
}
