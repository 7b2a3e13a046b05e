// Tracee's detection-event shape (pkg/ebpf/finding.go FindingToEvent): a trace.Event whose
// eventName is the signature's EventName, carrying the causal event's context at top level,
// `args` = the finding's data plus `triggeredBy` {args, id, name, returnValue} of the causal
// event, and `metadata` {Version, Description, Tags, Properties + signatureID, signatureName}.
// Go writes map keys sorted, so Properties and triggeredBy come out with sorted keys here too.

import {
  type JsonObject,
  type JsonValue,
  TRACEE_EXTRA_FIELDS,
  type TraceeArgument,
  type TraceeEvent,
} from '../events/types.js';
import { serializeEvent } from '../events/writer.js';
import type { Finding } from '../signatures/signature.js';

/** Causal-event fields Tracee copies into the detection event (matchedPolicies it does not). */
const COPIED_EXTRA_FIELDS = TRACEE_EXTRA_FIELDS.filter((field) => field !== 'matchedPolicies');

/**
 * Tracee numbers signature events from 6000 in load order. That order is not stable across
 * installations, so we derive a stable one: 6000 + the last three digits of a TRC-xxxx id
 * (TRC-1023 → 6023), 6999 for other ids.
 */
export function detectionEventId(signatureId: string): number {
  const match = /^TRC-\d*?(\d{1,3})$/.exec(signatureId);
  return match ? 6000 + Number(match[1]) : 6999;
}

export function toDetectionEvent(finding: Finding): TraceeEvent {
  const { event: cause, sigMetadata: metadata } = finding;
  const args: TraceeArgument[] = [];
  if (finding.data !== null) {
    for (const [name, value] of Object.entries(finding.data)) {
      args.push({ name, type: cTypeOf(value), value });
    }
  }
  if (cause.args.length > 0) {
    args.push({
      name: 'triggeredBy',
      type: 'unknown',
      value: {
        args: cause.args as unknown as JsonValue,
        id: cause.eventId,
        name: cause.eventName,
        returnValue: cause.returnValue,
      },
    });
  }
  const extra: JsonObject = {};
  for (const key of COPIED_EXTRA_FIELDS) {
    const value = cause.extra?.[key];
    if (value !== undefined) extra[key] = value;
  }
  extra.metadata = {
    Version: metadata.Version,
    Description: metadata.Description,
    Tags: metadata.Tags ?? null,
    Properties: sortedKeys({
      ...metadata.Properties,
      signatureID: metadata.ID,
      signatureName: metadata.Name,
    }),
  };
  const detection: TraceeEvent = {
    ...cause,
    eventId: detectionEventId(metadata.ID),
    eventName: metadata.EventName,
    argsNum: args.length,
    args,
    extra,
  };
  return detection;
}

export function formatFindingTracee(finding: Finding): string {
  return serializeEvent(toDetectionEvent(finding));
}

/** Tracee's getCType for finding data values. */
function cTypeOf(value: JsonValue): string {
  switch (typeof value) {
    case 'string':
      return 'const char *';
    case 'boolean':
      return 'bool';
    case 'bigint':
      return 'unsigned long long';
    case 'number':
      return Number.isInteger(value) ? 'int' : 'long double';
    default:
      return 'unknown';
  }
}

function sortedKeys(object: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const key of Object.keys(object).sort()) out[key] = object[key] as JsonValue;
  return out;
}
