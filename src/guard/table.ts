// Guard mode's compact exception table: what the BPF program decides with (struct
// pmg_guard_exception in native/ebpf/guard_decide.h), built from a checked Policy when the
// watcher starts and on every policy reload. A policy with an exception that needs a
// condition the kernel cannot decide (kernelEnforceability) is refused, naming the exception,
// where the condition is written and the field: enforcing it partly would kill openers the
// policy excepts, or let through ones it does not.
//
// Literal executable paths are pinned by device and inode now. A path that does not exist,
// is not a regular file, or is reached through a symlink (the opener's exe is its resolved
// path, which the user-space matcher compares) pins nothing: that exception matches no
// executable until the policy is reloaded. Each entry holds one pinned executable and at most
// MAX_UIDS uids, so an exception becomes (pinned files) x (uid chunks) entries.

import { lstatSync, realpathSync } from 'node:fs';
import { stDevToKernelDev } from '../capture/to-event.js';
import type { TargetRelation } from '../events/types.js';
import type { NativeGuardEntry } from '../native.js';
import { kernelEnforceability } from '../policy/enforceable.js';
import { type Policy, PolicyError, type PolicyException } from '../policy/types.js';

/** The kernel's limits (guard_decide.h): entries in the table, uids in one entry. */
export const GUARD_LIMITS = { entries: 64, uidsPerEntry: 8 } as const;

/** One entry as the addon writes it into the BPF map (field meanings: guard_decide.h). */
export type GuardEntry = NativeGuardEntry;

export interface GuardTable {
  entries: GuardEntry[];
  killSelf: boolean;
  /** Literal executable paths of the policy that pinned nothing here (absent, symlinked, ...). */
  unpinned: string[];
}

const RELATION_BITS: Record<TargetRelation, number> = {
  self: 1,
  ancestor: 2,
  descendant: 4,
  unrelated: 8,
};
const SIGNATURE_BITS: Record<string, number> = { 'TRC-1023': 1, 'TRC-1024': 2 };

/** The table for `policy` (null: no exceptions, kill every other process's open). */
export function guardTable(policy: Policy | null): GuardTable {
  if (policy === null) return { entries: [], killSelf: false, unpinned: [] };
  const entries: GuardEntry[] = [];
  const unpinned: string[] = [];
  policy.exceptions.forEach((e, i) => {
    refuseUnenforceable(policy, e, i);
    const exes = pinned(e, unpinned);
    const uidChunks = chunks(e.opener.uid, GUARD_LIMITS.uidsPerEntry);
    for (const exe of exes)
      for (const uids of uidChunks)
        entries.push({
          exe,
          uids,
          relations: e.relation ? e.relation.reduce((bits, r) => bits | RELATION_BITS[r], 0) : null,
          signatures: e.signatures
            ? e.signatures.reduce((bits, s) => bits | (SIGNATURE_BITS[s] ?? 0), 0)
            : 3,
          access: e.access.reduce((bits, a) => bits | (a === 'read' ? 1 : 2), 0),
        });
    if (entries.length > GUARD_LIMITS.entries)
      throw new PolicyError(
        policy.source,
        e.line,
        e.column,
        `exceptions[${i}]`,
        `guard mode: the policy needs more than ${GUARD_LIMITS.entries} kernel entries by exception "${e.name}" (one per existing executable path per ${GUARD_LIMITS.uidsPerEntry} uids)`,
      );
  });
  return { entries, killSelf: policy.guard.killSelf, unpinned: [...new Set(unpinned)] };
}

/** Throws a PolicyError at the first condition of `e` the kernel cannot decide. */
function refuseUnenforceable(policy: Policy, e: PolicyException, index: number): void {
  const blocking = kernelEnforceability(e).conditions.find((c) => !c.kernel);
  if (blocking === undefined) return;
  const at = e.positions?.[blocking.field] ?? e.positions?.[blocking.field.split('.')[0] as string];
  throw new PolicyError(
    policy.source,
    at?.line ?? e.line,
    at?.column ?? e.column,
    `exceptions[${index}].${blocking.field}`,
    `guard mode cannot enforce exception "${e.name}": ${blocking.field} is not decidable in the kernel (${blocking.why}); remove or narrow the exception, or run without --enforce`,
  );
}

/** The pinned executables of `e`: [null] when it names none (any executable). */
function pinned(e: PolicyException, unpinned: string[]): GuardEntry['exe'][] {
  if (e.opener.exe === null) return [null];
  const out: GuardEntry['exe'][] = [];
  const seen = new Set<string>();
  for (const glob of e.opener.exe) {
    const path = glob.literal as string; // refuseUnenforceable let literals only through
    const pin = pin1(path);
    if (pin === null) {
      unpinned.push(path);
      continue;
    }
    const key = `${pin.dev}:${pin.ino}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(pin);
  }
  return out;
}

function pin1(path: string): { dev: number; ino: bigint } | null {
  try {
    if (realpathSync(path) !== path) return null;
    const st = lstatSync(path, { bigint: true });
    if (!st.isFile()) return null;
    return { dev: Number(stDevToKernelDev(st.dev)), ino: st.ino };
  } catch {
    return null;
  }
}

function chunks(list: readonly number[] | null, size: number): (number[] | null)[] {
  if (list === null) return [null];
  const out: number[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}
