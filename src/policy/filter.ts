// Applies a policy to findings: exceptions first (the first matching suppress exception drops
// the finding, matching annotate exceptions name themselves in procmemGuard.exceptions), then
// dedup on what is left. Counts every suppression by exception name, every annotation, every
// fold. The engine runs one of these between its signatures and its 'finding' listeners.

import type { CaptureMark } from '../events/types.js';
import type { Finding } from '../signatures/signature.js';
import {
  type DedupKey,
  type DedupStats,
  DedupTable,
  NEW_KEY,
  type PendingRepeats,
} from './dedup.js';
import { accessName, emptyFacts, findingFacts, PolicyMatcher } from './matcher.js';
import type { Policy } from './types.js';

export interface PolicyStats {
  /** The policy in use (its file or name, exception count); null when none. */
  policy: { source: string; exceptions: number } | null;
  /** Findings dropped by a suppress exception. */
  suppressed: number;
  /** By exception name: every exception of the policy in use, and any other that counted. */
  suppressedByException: Record<string, number>;
  /** Findings that matched at least one annotate exception. */
  annotated: number;
  annotatedByException: Record<string, number>;
  dedup: DedupStats;
}

export class PolicyFilter {
  #policy: Policy | null = null;
  /** Null when the policy has no exceptions. */
  #matcher: PolicyMatcher | null = null;
  /** Made on the first policy with dedup; kept (empty) after, for its counts. */
  #dedup: DedupTable | null = null;
  #suppressed = 0;
  #annotated = 0;
  #suppressedBy = new Map<string, number>();
  #annotatedBy = new Map<string, number>();
  /** Rewritten for every finding: matching allocates nothing. */
  readonly #facts = emptyFacts();
  readonly #onSuppressed: ((finding: Finding, exception: string) => void) | undefined;

  /** `onSuppressed` hears of each finding a suppress exception drops (not of folds). */
  constructor(
    policy: Policy | null = null,
    onSuppressed?: (finding: Finding, exception: string) => void,
  ) {
    this.#onSuppressed = onSuppressed;
    this.setPolicy(policy);
  }

  get policy(): Policy | null {
    return this.#policy;
  }

  /**
   * Swaps the policy in one step. Counts by exception name carry over (names with no count
   * that left the policy are dropped). Dedup keys and their pending counts are kept when the
   * new policy has dedup too; without it, pending counts move to `evicted`.
   */
  setPolicy(policy: Policy | null): void {
    this.#policy = policy;
    this.#matcher = policy && policy.exceptions.length > 0 ? new PolicyMatcher(policy) : null;
    const dedup = policy?.dedup ?? null;
    if (dedup === null) this.#dedup?.clear();
    else if (this.#dedup === null) this.#dedup = new DedupTable(dedup.windowMs, dedup.maxKeys);
    else this.#dedup.resize(dedup.windowMs, dedup.maxKeys);
    const names = policy?.exceptions.map((e) => e.name) ?? [];
    this.#suppressedBy = carryCounts(this.#suppressedBy, names);
    this.#annotatedBy = carryCounts(
      this.#annotatedBy,
      policy?.exceptions.filter((e) => e.action === 'annotate').map((e) => e.name) ?? [],
    );
  }

  /**
   * The finding to deliver (itself, or a copy with procmemGuard marks), or undefined. A finding
   * whose opener guard mode killed (or would have) is never suppressed nor folded: every
   * enforcement is a finding, also when the kernel's exception table and this matcher disagree
   * (an executable replaced since the policy was loaded, a parent chain only one side knew).
   */
  apply(finding: Finding): Finding | undefined {
    const policy = this.#policy;
    if (policy === null) return finding;
    if (finding.event.procmemGuard?.action !== undefined) return finding;
    const facts = findingFacts(finding, this.#facts);
    let annotations: readonly string[] = NONE;
    if (this.#matcher !== null) {
      const verdict = this.#matcher.match(facts);
      if (verdict.suppressedBy !== undefined) {
        this.#suppressed++;
        bump(this.#suppressedBy, verdict.suppressedBy.name);
        this.#onSuppressed?.(finding, verdict.suppressedBy.name);
        return undefined;
      }
      annotations = verdict.annotations;
      if (annotations.length > 0) {
        this.#annotated++;
        for (const name of annotations) bump(this.#annotatedBy, name);
      }
    }
    let repeats = 0;
    if (policy.dedup !== null) {
      const dedup = this.#dedup as DedupTable;
      const event = finding.event;
      // An opener or target the capture could not name never folds with another one.
      const opener = event.executable.path || `pid:${event.hostProcessId || event.processId}`;
      const target = event.procmemGuard?.target?.exe || `path:${pathnameOf(finding)}`;
      const exceptions = annotations.length === 0 ? '' : annotations.join(',');
      const id = `${facts.signature}\0${facts.access}\0${opener}\0${target}\0${exceptions}`;
      const now = event.timestamp;
      const carried = dedup.offer(id, now);
      if (carried === undefined) return undefined;
      if (carried === NEW_KEY) {
        const key: DedupKey = {
          signature: facts.signature,
          opener,
          target,
          access: accessName(facts.access),
          exceptions,
        };
        dedup.insert(id, key, now);
      } else repeats = carried;
    }
    if (annotations.length === 0 && repeats === 0) return finding;
    return marked(finding, annotations, repeats);
  }

  stats(): PolicyStats {
    const p = this.#policy;
    return {
      policy: p ? { source: p.source, exceptions: p.exceptions.length } : null,
      suppressed: this.#suppressed,
      suppressedByException: Object.fromEntries(this.#suppressedBy),
      annotated: this.#annotated,
      annotatedByException: Object.fromEntries(this.#annotatedBy),
      dedup: this.#dedup
        ? this.#dedup.stats(p?.dedup?.windowMs ?? null)
        : { windowMs: null, folded: 0, carried: 0, pending: 0, evicted: 0, keys: 0 },
    };
  }

  /** Dedup keys whose folded findings no later finding has carried yet (most first). */
  pendingRepeats(limit = 20): PendingRepeats[] {
    return this.#dedup?.pendingRepeats(limit) ?? [];
  }
}

const NONE: readonly string[] = Object.freeze([]);

function bump(counts: Map<string, number>, name: string): void {
  counts.set(name, (counts.get(name) ?? 0) + 1);
}

/** Counts that mean something after a reload: the new names (from 0) and every non-zero one. */
function carryCounts(old: Map<string, number>, names: readonly string[]): Map<string, number> {
  const next = new Map<string, number>(names.map((n) => [n, old.get(n) ?? 0]));
  for (const [name, count] of old) if (count > 0 && !next.has(name)) next.set(name, count);
  return next;
}

/** The opened path, which keys an event whose target the capture could not name. */
function pathnameOf(finding: Finding): string {
  const path = finding.event.args.find((a) => a.name === 'pathname')?.value;
  return typeof path === 'string' ? path : '';
}

/** A copy of the finding whose event carries the policy's marks; the original is untouched. */
function marked(finding: Finding, exceptions: readonly string[], repeats: number): Finding {
  const event = finding.event;
  // Replayed Tracee events have no mark: make one that says so (not identified by a kernel).
  const mark: CaptureMark = {
    ...(event.procmemGuard ?? { procfsMem: false, flagsSource: 'tracee' }),
  };
  if (exceptions.length > 0) mark.exceptions = [...exceptions];
  if (repeats > 0) mark.repeats = repeats;
  return { ...finding, event: { ...event, procmemGuard: mark } };
}
