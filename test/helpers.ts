// Shared test data: Tracee security_file_open lines in Tracee's own JSON layout, and helpers
// to run signatures over events.

import { createSecurityFileOpenEvent, type SecurityFileOpenFields } from '../src/events/build.js';
import { parseJsonExact, writeJson } from '../src/events/exact-json.js';
import { O_RDWR, O_WRONLY } from '../src/events/open-flags.js';
import { parseEventLine } from '../src/events/reader.js';
import type { JsonValue, TraceeEvent } from '../src/events/types.js';
import type { Finding, Signature } from '../src/signatures/signature.js';

export interface LineFields {
  timestamp?: string;
  processId?: number;
  processName?: string;
  pathname?: string;
  flags?: number | string;
  eventName?: string;
  ctime?: string;
}

/** One compact Tracee JSON line, field for field as `tracee --output json` writes it. */
export function traceeLine(fields: LineFields = {}): string {
  const pid = fields.processId ?? 4242;
  const pathname = fields.pathname ?? '/proc/1234/mem';
  const flags = fields.flags ?? 'O_RDONLY|O_LARGEFILE';
  const flagsArg =
    typeof flags === 'number'
      ? `{"name":"flags","type":"int","value":${flags}}`
      : `{"name":"flags","type":"string","value":${JSON.stringify(flags)}}`;
  return (
    `{"timestamp":${fields.timestamp ?? '1732675200123456789'},"threadStartTime":1732675190000000123,` +
    `"processorId":3,"processId":${pid},"cgroupId":10376,"threadId":${pid},"parentProcessId":977,` +
    `"hostProcessId":${pid},"hostThreadId":${pid},"hostParentProcessId":977,"userId":0,` +
    `"mountNamespace":4026531841,"pidNamespace":4026531836,` +
    `"processName":${JSON.stringify(fields.processName ?? 'dd')},"executable":{"path":"/usr/bin/dd"},` +
    `"hostName":"build-7","containerId":"","container":{},"kubernetes":{},"eventId":"732",` +
    `"eventName":${JSON.stringify(fields.eventName ?? 'security_file_open')},"matchedPolicies":[""],` +
    `"argsNum":6,"returnValue":0,"syscall":"openat","stackAddresses":null,` +
    `"contextFlags":{"containerStarted":false,"isCompat":false},"threadEntityId":2316339463,` +
    `"processEntityId":2316339463,"parentEntityId":1740364381,"args":[` +
    `{"name":"pathname","type":"const char*","value":${JSON.stringify(pathname)}},${flagsArg},` +
    `{"name":"dev","type":"dev_t","value":23},{"name":"inode","type":"unsigned long","value":18446744073709551557},` +
    `{"name":"ctime","type":"unsigned long","value":${fields.ctime ?? '1732675190987654321'}},` +
    `{"name":"syscall_pathname","type":"const char*","value":${JSON.stringify(pathname)}}]}`
  );
}

/** Findings a fresh, initialised signature reports for one event. */
export function findingsOf(signature: Signature, event: TraceeEvent): Finding[] {
  const findings: Finding[] = [];
  signature.init({ callback: (finding) => findings.push(finding) });
  signature.onEvent(event);
  signature.close();
  return findings;
}

/** A row of a signature table: the event, described, and whether the signature fires. */
export interface SignatureCase {
  name: string;
  event: TraceeEvent;
  fires: boolean;
}

/** An event for a signature table: built from fields, or parsed from a Tracee line. */
export function openEvent(
  fields: Partial<SecurityFileOpenFields> & { eventName?: string },
): TraceeEvent {
  const { eventName, ...rest } = fields;
  const event = createSecurityFileOpenEvent({
    pathname: '/proc/1234/mem',
    flags: 0,
    processId: 99,
    processName: 'dd',
    ...rest,
  });
  return eventName === undefined ? event : { ...event, eventName };
}

/** A parsed Tracee line (flags in Tracee's string form, as `--output option:parse-arguments`). */
export function traceeEvent(fields: LineFields): TraceeEvent {
  const result = parseEventLine(traceeLine(fields), 1);
  if (!result.ok) throw result.error;
  return result.event;
}

// Open flag bits for signature tables (x86-64), and the capture layer's procfs mem mark.
export { O_RDWR, O_WRONLY };
export const O_CLOEXEC = 0o2000000;
export const O_LARGEFILE = 0o100000;
export const capture = { procfsMem: true, flagsSource: 'fdinfo' } as const;

/** How to lay a JSON line out: separators and key order (see relayout). */
export interface Layout {
  /** After ',' and ':' (e.g. ' '), and around brackets and braces. */
  space?: string;
  /** Before each ',' and ':' too. */
  spaceBefore?: string;
  /** Sort every object's keys (jq -S, json.dumps(sort_keys=True)). */
  sorted?: boolean;
  /** Top-level keys in reverse order. */
  reversed?: boolean;
  /** Escape every '/' as '\/' and non-ASCII as \uXXXX (valid JSON, same values). */
  escaped?: boolean;
}

export const LAYOUTS: Record<string, Layout> = {
  compact: {},
  spaced: { space: ' ' },
  sorted: { sorted: true },
  reversed: { reversed: true },
  'tabs and newlines': { space: '\t', spaceBefore: '\r\n ' },
  'spaced and sorted': { space: ' ', spaceBefore: ' ', sorted: true },
  escaped: { escaped: true },
};

/** The same JSON value in another layout; 64-bit integers keep their digits. */
export function relayout(line: string, layout: Layout): string {
  return write(parseJsonExact(line), layout, 0);
}

function write(value: JsonValue, layout: Layout, depth: number): string {
  const s = layout.space ?? '';
  const b = layout.spaceBefore ?? '';
  if (typeof value === 'string') {
    const text = JSON.stringify(value);
    return layout.escaped
      ? text
          .replace(/\//g, '\\/')
          .replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
      : text;
  }
  if (typeof value !== 'object' || value === null) return writeJson(value);
  if (Array.isArray(value)) {
    return `[${s}${value.map((item) => write(item, layout, depth + 1)).join(`${b},${s}`)}${s}]`;
  }
  let keys = Object.keys(value);
  if (layout.sorted) keys = keys.sort();
  if (layout.reversed && depth === 0) keys = keys.reverse();
  const members = keys.map(
    (key) =>
      `${write(key, layout, depth + 1)}${b}:${s}${write(value[key] as JsonValue, layout, depth + 1)}`,
  );
  return `{${s}${members.join(`${b},${s}`)}${s}}`;
}
