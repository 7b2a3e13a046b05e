// The signature contract, in the spirit of Tracee's detect.Signature (types/detect): metadata,
// selected events, init with a callback, onEvent, onSignal, close. Metadata keeps Tracee's
// field names (ID, Version, Name, EventName, Description, Tags, Properties) so that findings
// print the way Tracee prints them.

import type { JsonValue, TraceeEvent } from '../events/types.js';

export interface SignatureProperties {
  /** 0 (informative) to 4 (critical), as in Tracee. */
  Severity: number;
  /** MITRE ATT&CK tactic, e.g. `credential-access`. */
  Category: string;
  /** MITRE ATT&CK technique name. */
  Technique: string;
  Kubernetes_Technique: string;
  /** MITRE ATT&CK STIX id (`attack-pattern--...`). */
  id: string;
  /** MITRE ATT&CK id, e.g. `T1003.007`. */
  external_id: string;
  [property: string]: JsonValue;
}

export interface SignatureMetadata {
  ID: string;
  Version: string;
  Name: string;
  /** Name of the detection event a finding becomes (`proc_mem_access`). */
  EventName: string;
  Description: string;
  Tags?: string[];
  Properties: SignatureProperties;
}

/** Where an event happened, derived as Tracee's trace.Event.Origin() does. */
export type EventOrigin = 'host' | 'container' | 'container-init';

/** An event a signature wants: `name` and `origin` may be '*'. */
export interface SignatureEventSelector {
  source: 'tracee' | '*';
  name: string;
  origin: EventOrigin | '*';
}

/** What a signature reports: its metadata, the event that caused it, and optional data. */
export interface Finding {
  sigMetadata: SignatureMetadata;
  /** The causal event, whole. */
  event: TraceeEvent;
  data: Record<string, JsonValue> | null;
}

/** Lifecycle signals; `source-complete` means an input ended (replay reached end of file). */
export type Signal = { type: 'source-complete'; source: string };

export interface SignatureContext {
  /** Reports a finding. May be called any number of times from onEvent or onSignal. */
  callback(finding: Finding): void;
}

export interface Signature {
  getMetadata(): SignatureMetadata;
  getSelectedEvents(): SignatureEventSelector[];
  init(ctx: SignatureContext): void;
  onEvent(event: TraceeEvent): void;
  onSignal(signal: Signal): void;
  close(): void;
}
