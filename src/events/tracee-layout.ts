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

import { OpenFlagsError, parseOpenFlags } from './open-flags.js';
import {
  type JsonObject,
  LEADING_INTEGER_FIELDS,
  SECURITY_FILE_OPEN,
  type SecurityFileOpenEvent,
  type TraceeContainer,
} from './types.js';

/** A JSON integer token (no fraction, no exponent), captured. */
const INT = '(-?(?:0|[1-9][0-9]*))';
/** A JSON string with no escape and no control character, its content captured. */
const STR = '"([^"\\\\\\u0000-\\u001f]*)"';
const opt = (text: string) => `(?:${text})?`;
const key = (name: string) => `,"${name}":`;

// Capture groups, in order. Kept next to the pattern so the two cannot drift apart.
const GROUPS = [
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
type Group = (typeof GROUPS)[number];
const G = Object.fromEntries(GROUPS.map((name, i) => [name, i + 1])) as Record<Group, number>;

const LAYOUT = new RegExp(
  [
    `^\\{${LEADING_INTEGER_FIELDS.map((name) => `"${name}":${INT}`).join(',')}`,
    `${key('processName')}${STR}`,
    opt(`${key('executable')}\\{"path":${STR}\\}`),
    `${key('hostName')}${STR}`,
    opt(`${key('containerId')}${STR}`),
    `${key('container')}\\{`,
    opt(
      `"id":${STR}${opt(`,"name":${STR}`)}${opt(`,"image":${STR}`)}${opt(`,"imageDigest":${STR}`)}`,
    ),
    '\\}',
    `(${key('kubernetes')}\\{\\})?`,
    `${key('eventId')}"${INT}"`,
    `${key('eventName')}"${SECURITY_FILE_OPEN}"`,
    opt(
      `${key('matchedPolicies')}\\[((?:"[^"\\\\\\u0000-\\u001f]*"(?:,"[^"\\\\\\u0000-\\u001f]*")*)?)\\]`,
    ),
    `${key('argsNum')}${INT}`,
    `${key('returnValue')}${INT}`,
    `${key('syscall')}${STR}`,
    `(${key('stackAddresses')}null)?`,
    opt(`${key('contextFlags')}\\{"containerStarted":(true|false),"isCompat":(true|false)\\}`),
    opt(`${key('threadEntityId')}${INT}`),
    opt(`${key('processEntityId')}${INT}`),
    opt(`${key('parentEntityId')}${INT}`),
    `${key('args')}\\[`,
    `\\{"name":"pathname","type":${STR},"value":${STR}\\}`,
    `,\\{"name":"flags","type":${STR},"value":(?:${STR}|${INT})\\}`,
    `,\\{"name":"dev","type":${STR},"value":${INT}\\}`,
    `,\\{"name":"inode","type":${STR},"value":${INT}\\}`,
    `,\\{"name":"ctime","type":${STR},"value":${INT}\\}`,
    `,\\{"name":"syscall_pathname","type":${STR},"value":${STR}\\}`,
    '\\]\\}$',
  ].join(''),
);

// The group list and the pattern must agree; an empty alternative makes every group count.
if ((new RegExp(`${LAYOUT.source}|`).exec('')?.length ?? 0) - 1 !== GROUPS.length) {
  throw new Error('tracee-layout: capture groups and GROUPS disagree');
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

function u64(text: string): bigint {
  return text.length <= 15 ? BigInt(int(text)) : BigInt(text);
}

/**
 * Reads a security_file_open line in Tracee's layout into an event, or returns undefined
 * when the line is anything else (the caller then uses the general path).
 */
export function readTraceeLayout(line: string): SecurityFileOpenEvent | undefined {
  const m = LAYOUT.exec(line);
  if (m === null) return undefined;
  try {
    return build(m);
  } catch (err) {
    if (err === DECLINE) return undefined;
    throw err;
  }
}

function build(m: Array<string | undefined>): SecurityFileOpenEvent {
  const eventIdText = m[G.eventId] as string;
  if (eventIdText.length > 10) throw DECLINE; // the general path's limit
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
    processId: int(m[G.processId] as string),
    cgroupId: u64(m[G.cgroupId] as string),
    threadId: int(m[G.threadId] as string),
    parentProcessId: int(m[G.parentProcessId] as string),
    hostProcessId: int(m[G.hostProcessId] as string),
    hostThreadId: int(m[G.hostThreadId] as string),
    hostParentProcessId: int(m[G.hostParentProcessId] as string),
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
  const extra = extraFields(m);
  if (extra !== undefined) event.extra = extra;
  return event;
}

/** The Tracee fields the model keeps in `extra`, in Tracee's order, as the general path. */
function extraFields(m: Array<string | undefined>): JsonObject | undefined {
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
  const policies = m[G.matchedPolicies];
  if (policies !== undefined) {
    // The strings hold no escapes, so the list is valid JSON as it stands.
    extra.matchedPolicies = policies === '""' ? [''] : (JSON.parse(`[${policies}]`) as string[]);
  }
  if (m[G.stackAddresses] !== undefined) extra.stackAddresses = null;
  const containerStarted = m[G.containerStarted];
  if (containerStarted !== undefined) {
    extra.contextFlags = {
      containerStarted: containerStarted === 'true',
      isCompat: m[G.isCompat] === 'true',
    };
  }
  const threadEntityId = m[G.threadEntityId];
  if (threadEntityId !== undefined) extra.threadEntityId = int(threadEntityId);
  const processEntityId = m[G.processEntityId];
  if (processEntityId !== undefined) extra.processEntityId = int(processEntityId);
  const parentEntityId = m[G.parentEntityId];
  if (parentEntityId !== undefined) extra.parentEntityId = int(parentEntityId);
  return extra;
}
