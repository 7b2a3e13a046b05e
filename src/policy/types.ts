// The policy model: what a policy file says (PolicySpec, the YAML shape), what it becomes once
// checked (Policy), its limits and its error. README "Policy files" documents the language.

import type { TargetRelation } from '../events/types.js';
import type { ExeGlob } from './glob.js';

export type Access = 'read' | 'write';
export type PolicyAction = 'suppress' | 'annotate';
export const ACCESS_VALUES: readonly Access[] = ['read', 'write'];
export const ACTIONS: readonly PolicyAction[] = ['suppress', 'annotate'];

/** The conditions on a process that the opener and the target both have, as written. */
export interface ProcessSpec {
  exe?: string[];
  comm?: string[];
  uid?: number[];
}

/** One exception as written in the file (every list: any entry matches; [] = any). */
export interface ExceptionSpec {
  name: string;
  signatures?: string[];
  access?: Access[];
  opener?: ProcessSpec & {
    parentExe?: string[];
    /** host, any (the default), or a container id prefix (12 to 64 lowercase hex digits). */
    container?: string;
  };
  target?: ProcessSpec;
  relation?: TargetRelation[];
  action: PolicyAction;
}

/** A policy file's shape, also accepted as a plain object (`options.policy`). */
export interface PolicySpec {
  version: 1;
  dedup?: { window: string; maxKeys?: number };
  /** Guard mode (README "Guard mode"): killSelf lets it kill a process reading its own memory. */
  guard?: { killSelf?: boolean };
  exceptions?: ExceptionSpec[];
}

/** Where an opener may run: on the host, anywhere, or in containers whose id starts so. */
export type ContainerScope = 'any' | 'host' | { idPrefix: string };

/** Checked conditions on a process, shared by the opener and the target (null: not set). */
export interface ProcessConditions {
  readonly exe: readonly ExeGlob[] | null;
  readonly comm: readonly string[] | null;
  readonly uid: readonly number[] | null;
}

/** A checked exception. A null condition is not set (matches anything). */
export interface PolicyException {
  readonly name: string;
  /** Signature ids it applies to; null: every signature. */
  readonly signatures: readonly string[] | null;
  /** What the open may grant (read, write or both); an O_RDWR open needs both listed. */
  readonly access: readonly Access[];
  readonly opener: ProcessConditions & {
    readonly parentExe: readonly ExeGlob[] | null;
    readonly container: ContainerScope;
  };
  readonly target: ProcessConditions;
  readonly relation: readonly TargetRelation[] | null;
  readonly action: PolicyAction;
  /** Where the exception starts in its file (1-based), when it came from one. */
  readonly line?: number;
  readonly column?: number;
  /**
   * Where each condition it sets is written (its key, 1-based), by field path relative to the
   * exception ('opener.exe', 'relation', ...), when it came from a file.
   */
  readonly positions?: Readonly<Record<string, { line: number; column: number }>>;
}

export interface DedupSettings {
  /** Repeats inside this many milliseconds of the last emitted finding fold into a count. */
  readonly windowMs: number;
  /** Keys the dedup table holds at most; the oldest is evicted (its count kept) beyond. */
  readonly maxKeys: number;
}

/** Guard mode's settings from the policy's top-level `guard` key. */
export interface GuardSettings {
  /** Guard mode may kill a process that opens its own mem file (default false: never). */
  readonly killSelf: boolean;
}

/** A checked, frozen policy: from loadPolicy, parsePolicy or policyFromObject. */
export interface Policy {
  /** The file it was read from, or the name given for an object ('options.policy'). */
  readonly source: string;
  readonly version: 1;
  readonly dedup: DedupSettings | null;
  readonly guard: GuardSettings;
  readonly exceptions: readonly PolicyException[];
}

/** Size caps; larger input is refused with a PolicyError (README "Policy files"). */
export const POLICY_LIMITS = {
  /** Bytes in a policy file. */
  fileBytes: 1024 * 1024,
  exceptions: 1000,
  /** Entries in any one list (exe, comm, uid, signatures, ...). */
  listEntries: 256,
  nameLength: 128,
  /** Longest signature id. */
  signatureLength: 64,
  /** comm is TASK_COMM_LEN - 1 bytes: the kernel cuts longer names. */
  commBytes: 15,
  /** Aliases (*name) resolved while reading one file. */
  aliases: 100,
  maxWindowMs: 24 * 3_600_000,
  defaultMaxKeys: 4096,
  maxKeys: 1_000_000,
} as const;

/**
 * A policy that cannot be used: where (file, 1-based line and column when known, the field
 * path such as `exceptions[2].opener.exe[0]`) and why. The message reads
 * `FILE:LINE:COLUMN: FIELD: REASON`.
 */
export class PolicyError extends Error {
  override name = 'PolicyError';
  constructor(
    readonly source: string,
    readonly line: number | undefined,
    readonly column: number | undefined,
    readonly field: string | undefined,
    readonly reason: string,
  ) {
    super(
      `${source}${line === undefined ? '' : `:${line}:${column ?? 1}`}: ${field ? `${field}: ` : ''}${reason}`,
    );
  }
}
