// One aligned line per finding, for people. A live event names the target (read at capture
// time) and the opener's relation to it:
// 2024-11-27T02:40:00.123456789Z  sev 3  TRC-1023 proc_mem_access          pid 4242    dd (uid 0) → sshd (pid 812, uid 0, unrelated)  /proc/812/mem  O_RDONLY|O_LARGEFILE
// An event read from Tracee knows only the target's pid:
// 2024-11-27T02:40:00.123456789Z  sev 3  TRC-1023 proc_mem_access          pid 4242    dd               /proc/1234/mem  target 1234  O_RDONLY|O_LARGEFILE

import { formatOpenFlags, parseOpenFlags } from '../events/open-flags.js';
import { printable } from '../events/printable.js';
import { ioArg, type ProcMemIoEvent } from '../events/proc-mem-io.js';
import type { TargetInfo, TraceeEvent } from '../events/types.js';
import type { Finding } from '../signatures/signature.js';

const NS_PER_SECOND = 1_000_000_000n;
/** Older Tracee versions stamp events with time since boot; epoch times are far larger. */
const EPOCH_2001_NS = 978_307_200n * NS_PER_SECOND;

export function formatFindingPretty(finding: Finding): string {
  const { event, sigMetadata } = finding;
  const severity = sigMetadata.Properties.Severity;
  return [
    formatTimestamp(event.timestamp).padEnd(30),
    `sev ${severity}`,
    `${sigMetadata.ID} ${sigMetadata.EventName}`.padEnd(33),
    `pid ${event.hostProcessId || event.processId}`.padEnd(11),
    actors(event),
    target(event) + policyNotes(event),
  ].join('  ');
}

/** What guard mode and a policy added: `  KILLED  repeats 49  exceptions bcc-usdt`. */
function policyNotes(event: TraceeEvent): string {
  const mark = event.procmemGuard;
  if (mark === undefined) return '';
  let out = '';
  if (mark.action !== undefined) out += mark.action === 'killed' ? '  KILLED' : '  would-kill';
  if (mark.repeats !== undefined) out += `  repeats ${mark.repeats}`;
  if (mark.exceptions !== undefined)
    out += `  exceptions ${mark.exceptions.map((n) => terminalText(n)).join(',')}`;
  return out;
}

/** One aligned line per captured event (watch --events --format pretty). */
export function formatEventPretty(event: TraceeEvent): string {
  return [
    formatTimestamp(event.timestamp).padEnd(30),
    'event'.padEnd(39),
    `pid ${event.hostProcessId || event.processId}`.padEnd(11),
    actors(event),
    target(event),
  ].join('  ');
}

/**
 * One line per proc_mem_io event:
 * 2024-11-27T02:40:00.123456789Z  io proc_mem_io  pid 4242  dd (uid 0) read 1048576 bytes in 16 reads from sleep (pid 812, uid 0, unrelated) over 2.1 ms  /proc/812/mem  closed
 * (fanotify, bytes unknown: "read an unknown number of bytes in at least 3 reads")
 */
export function formatIoPretty(event: ProcMemIoEvent): string {
  const target = event.procmemGuard.target;
  const bytes = (n: bigint) => (n < 0n ? 'an unknown number of bytes' : `${n} bytes`);
  // Bytes unknown (fanotify): the counts are events seen, each one call or more.
  const atLeast = ioArg(event, 'bytesRead') < 0n ? 'at least ' : '';
  const calls = (n: bigint, what: string) => `${atLeast}${n} ${what}${n === 1n ? '' : 's'}`;
  const reads = ioArg(event, 'reads');
  const writes = ioArg(event, 'writes');
  const read = `read ${bytes(ioArg(event, 'bytesRead'))} in ${calls(reads, 'read')}`;
  const wrote = `wrote ${bytes(ioArg(event, 'bytesWritten'))} in ${calls(writes, 'write')}`;
  // What the opener did, and the word before its target: read from, wrote to, both of.
  let did = `${read} and ${wrote}`;
  let of = 'of';
  if (atLeast !== '' && reads === 0n && writes === 0n) did = 'was not seen reading or writing';
  else if (writes === 0n) [did, of] = [read, 'from'];
  else if (reads === 0n) [did, of] = [wrote, 'to'];
  const whom = target ? targetText(target) : `pid ${event.procmemGuard.targetPid ?? '?'}`;
  return [
    formatTimestamp(event.timestamp).padEnd(30),
    'io proc_mem_io'.padEnd(39),
    `pid ${event.hostProcessId || event.processId}`.padEnd(11),
    `${printableName(event.processName)} (uid ${event.userId}) ${did} ${of} ${whom} over ${formatNs(ioArg(event, 'durationNs'))}`,
    terminalText(ioArg(event, 'pathname')),
    event.procmemGuard.io.end,
  ].join('  ');
}

/** A duration for people: 850 ns, 12.3 µs, 2.1 ms, 4.5 s, 3.2 min, 5.0 h. */
export function formatNs(ns: bigint): string {
  const n = Number(ns);
  const units: [number, string][] = [
    [3.6e12, 'h'],
    [6e10, 'min'],
    [1e9, 's'],
    [1e6, 'ms'],
    [1e3, 'µs'],
  ];
  for (const [size, unit] of units) if (n >= size) return `${(n / size).toFixed(1)} ${unit}`;
  return `${n} ns`;
}

/** Milliseconds past which a Date is invalid (ECMAScript's time range). */
const MAX_DATE_MS = 8_640_000_000_000_000;

/**
 * Nanoseconds since the epoch as ISO 8601 with all nine digits; boot-relative as +s. Never
 * throws: a value outside the Date range (or negative, which the reader refuses anyway) is
 * printed as plain seconds.
 */
export function formatTimestamp(ns: bigint): string {
  const sign = ns < 0n ? '-' : '';
  const magnitude = ns < 0n ? -ns : ns;
  const seconds = magnitude / NS_PER_SECOND;
  const fraction = (magnitude % NS_PER_SECOND).toString().padStart(9, '0');
  if (sign !== '' || ns < EPOCH_2001_NS) return `${sign || '+'}${seconds}.${fraction}s`;
  if (seconds * 1000n > BigInt(MAX_DATE_MS)) return `${seconds}.${fraction}s`;
  const iso = new Date(Number(seconds) * 1000).toISOString();
  return `${iso.slice(0, 19)}.${fraction}Z`;
}

function target(event: TraceeEvent): string {
  const path = event.args.find((arg) => arg.name === 'pathname')?.value;
  const flags = event.args.find((arg) => arg.name === 'flags')?.value;
  const parts = [typeof path === 'string' ? terminalText(path) : '?'];
  // With target details, its pid is shown with them (actors()).
  if (event.procmemGuard?.targetPid !== undefined && event.procmemGuard.target === undefined)
    parts.push(`target ${event.procmemGuard.targetPid}`);
  if (typeof flags === 'number' || typeof flags === 'string') {
    try {
      parts.push(formatOpenFlags(parseOpenFlags(flags)));
    } catch {
      parts.push(terminalText(String(flags)));
    }
  }
  return parts.join('  ');
}

/** The opener, and the target when the capture read it: `dd (uid 0) → sshd (pid 812, uid 0)`. */
function actors(event: TraceeEvent): string {
  const opener = printableName(event.processName);
  const target = event.procmemGuard?.target;
  if (target === undefined) return opener.padEnd(16);
  return `${opener} (uid ${event.userId}) → ${targetText(target)}`;
}

function targetText(target: TargetInfo): string {
  const details = [`pid ${target.pid}`];
  if (target.tid !== target.pid) details.push(`tid ${target.tid}`);
  if (target.uid !== undefined) details.push(`uid ${target.uid}`);
  if (target.relation !== undefined) details.push(target.relation);
  return `${printableName(target.comm ?? '')} (${details.join(', ')})`;
}

/** A process name as one printable token (comm can hold any byte but NUL). */
function printableName(name: string): string {
  return name === '' ? '?' : terminalText(name).replace(/ /g, '\\x20');
}

/** Event text for a terminal: backslashes doubled, then every unprintable character escaped. */
function terminalText(text: string): string {
  return printable(text.replace(/\\/g, '\\\\'));
}
