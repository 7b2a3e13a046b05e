// Writes an event as one line of Tracee JSON: Tracee's field order (Go marshals
// trace.Event in declaration order), eventId as a string, 64-bit values as exact digits.
// Fields kept in `extra` go back to their Tracee slot; unknown ones go just before `args`,
// so `args` stays the last field as Tracee writes it.

import { writeJson } from './exact-json.js';
import type {
  CaptureMark,
  JsonObject,
  TargetInfo,
  TraceeArgument,
  TraceeContainer,
  TraceeEvent,
} from './types.js';

/** Tracee fields this model keeps in `extra`, by the model field they follow. */
const SLOTS_AFTER = {
  container: ['kubernetes'],
  eventName: ['matchedPolicies'],
  syscall: [
    'stackAddresses',
    'contextFlags',
    'threadEntityId',
    'processEntityId',
    'parentEntityId',
  ],
  args: ['metadata'],
} as const;
const SLOTTED: ReadonlySet<string> = new Set(Object.values(SLOTS_AFTER).flat());

export function serializeEvent(event: TraceeEvent): string {
  const { extra } = event;
  return (
    `{"timestamp":${event.timestamp},"threadStartTime":${event.threadStartTime}` +
    `,"processorId":${event.processorId},"processId":${event.processId},"cgroupId":${event.cgroupId}` +
    `,"threadId":${event.threadId},"parentProcessId":${event.parentProcessId}` +
    `,"hostProcessId":${event.hostProcessId},"hostThreadId":${event.hostThreadId}` +
    `,"hostParentProcessId":${event.hostParentProcessId},"userId":${event.userId}` +
    `,"mountNamespace":${event.mountNamespace},"pidNamespace":${event.pidNamespace}` +
    `,"processName":${JSON.stringify(event.processName)}` +
    `,"executable":{"path":${JSON.stringify(event.executable.path)}}` +
    `,"hostName":${JSON.stringify(event.hostName)},"containerId":${JSON.stringify(event.containerId)}` +
    `,"container":${serializeContainer(event.container)}${slots(extra, SLOTS_AFTER.container)}` +
    `,"eventId":"${event.eventId}","eventName":${JSON.stringify(event.eventName)}` +
    `${slots(extra, SLOTS_AFTER.eventName)}` +
    `,"argsNum":${event.argsNum},"returnValue":${event.returnValue}` +
    `,"syscall":${JSON.stringify(event.syscall)}${slots(extra, SLOTS_AFTER.syscall)}` +
    `${unslotted(extra)}` +
    `${event.procmemGuard === undefined ? '' : `,"procmemGuard":${serializeCaptureMark(event.procmemGuard)}`}` +
    `,"args":${serializeArgs(event.args)}${slots(extra, SLOTS_AFTER.args)}}`
  );
}

export function serializeArgs(args: readonly TraceeArgument[]): string {
  let out = '[';
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as TraceeArgument;
    out += `${i === 0 ? '' : ','}{"name":${JSON.stringify(arg.name)},"type":${JSON.stringify(arg.type)},"value":${writeJson(arg.value)}}`;
  }
  return `${out}]`;
}

/** Tracee omits empty container fields (`omitempty`). */
export function serializeContainer(container: TraceeContainer): string {
  let out = '';
  for (const key of ['id', 'name', 'image', 'imageDigest'] as const) {
    const value = container[key];
    if (value) out += `${out === '' ? '' : ','}"${key}":${JSON.stringify(value)}`;
  }
  return `{${out}}`;
}

function slots(extra: JsonObject | undefined, keys: readonly string[]): string {
  if (extra === undefined) return '';
  let out = '';
  for (const key of keys) {
    const value = extra[key];
    if (value !== undefined && Object.hasOwn(extra, key)) out += `,"${key}":${writeJson(value)}`;
  }
  return out;
}

function unslotted(extra: JsonObject | undefined): string {
  if (extra === undefined) return '';
  let out = '';
  for (const key of Object.keys(extra)) {
    if (!SLOTTED.has(key)) out += `,${JSON.stringify(key)}:${writeJson(extra[key])}`;
  }
  return out;
}

/** The capture mark in a fixed field order. */
export function serializeCaptureMark(mark: CaptureMark): string {
  return (
    `{"procfsMem":${mark.procfsMem}` +
    `${mark.targetPid === undefined ? '' : `,"targetPid":${mark.targetPid}`}` +
    `${mark.targetTid === undefined ? '' : `,"targetTid":${mark.targetTid}`}` +
    `,"flagsSource":${JSON.stringify(mark.flagsSource)}` +
    `${mark.backend === undefined ? '' : `,"backend":${JSON.stringify(mark.backend)}`}` +
    `${mark.notes === undefined ? '' : `,"notes":${JSON.stringify(mark.notes)}`}` +
    `${mark.target === undefined ? '' : `,"target":${serializeTarget(mark.target)}`}` +
    `${mark.parentExe === undefined ? '' : `,"parentExe":${JSON.stringify(mark.parentExe)}`}` +
    `${mark.action === undefined ? '' : `,"action":${JSON.stringify(mark.action)}`}` +
    `${policyMarks(mark)}` +
    `${mark.io === undefined ? '' : `,"io":{"openTimestamp":${mark.io.openTimestamp},"end":${JSON.stringify(mark.io.end)}}`}}`
  );
}

/** What a policy adds to a finding's mark: annotate exceptions that matched, dedup repeats. */
function policyMarks(mark: CaptureMark): string {
  return (
    `${mark.exceptions === undefined ? '' : `,"exceptions":${JSON.stringify(mark.exceptions)}`}` +
    `${mark.repeats === undefined ? '' : `,"repeats":${mark.repeats}`}`
  );
}

/** procmemGuard.target in a fixed field order; absent fields stay absent. */
function serializeTarget(target: TargetInfo): string {
  return (
    `{"pid":${target.pid},"tid":${target.tid}` +
    `${target.comm === undefined ? '' : `,"comm":${JSON.stringify(target.comm)}`}` +
    `${target.exe === undefined ? '' : `,"exe":${JSON.stringify(target.exe)}`}` +
    `${target.uid === undefined ? '' : `,"uid":${target.uid}`}` +
    `${target.containerId === undefined ? '' : `,"containerId":${JSON.stringify(target.containerId)}`}` +
    `${target.startTime === undefined ? '' : `,"startTime":${target.startTime}`}` +
    `${target.relation === undefined ? '' : `,"relation":${JSON.stringify(target.relation)}`}}`
  );
}
