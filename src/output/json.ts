// procmem-guard's own Finding JSON (documented in README "Finding JSON format"):
// {"sigMetadata":{...},"event":{<the causal event as Tracee JSON>},"data":null|{...}}

import { writeJson } from '../events/exact-json.js';
import type { JsonObject } from '../events/types.js';
import { serializeEvent } from '../events/writer.js';
import type { Finding, SignatureMetadata } from '../signatures/signature.js';

export function formatFindingJson(finding: Finding): string {
  return (
    `{"sigMetadata":${serializeMetadata(finding.sigMetadata)}` +
    `,"event":${serializeEvent(finding.event)}` +
    `,"data":${finding.data === null ? 'null' : writeJson(finding.data)}}`
  );
}

/** Signature metadata with Tracee's field names, in a fixed order; Tags is always an array. */
export function serializeMetadata(metadata: SignatureMetadata): string {
  return (
    `{"ID":${JSON.stringify(metadata.ID)},"Version":${JSON.stringify(metadata.Version)}` +
    `,"Name":${JSON.stringify(metadata.Name)},"EventName":${JSON.stringify(metadata.EventName)}` +
    `,"Description":${JSON.stringify(metadata.Description)}` +
    `,"Tags":${writeJson(metadata.Tags ?? [])}` +
    `,"Properties":${writeJson(metadata.Properties as JsonObject)}}`
  );
}
