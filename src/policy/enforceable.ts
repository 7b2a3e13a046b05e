// Which exception conditions could be decided in the kernel, at the open, from data the BPF
// side can hold: the compact form guard mode will need. Today this only informs (`policy
// check` prints it); nothing here enforces.

import type { PolicyException } from './types.js';

/** A condition of an exception, by its field path. */
export type ConditionField =
  | 'signatures'
  | 'access'
  | 'opener.exe'
  | 'opener.comm'
  | 'opener.uid'
  | 'opener.parentExe'
  | 'opener.container'
  | 'target.exe'
  | 'target.comm'
  | 'target.uid'
  | 'relation';

export interface ConditionVerdict {
  field: ConditionField;
  kernel: boolean;
  why: string;
}

export interface Enforceability {
  /** Every condition the exception sets can be decided in the kernel. */
  enforceable: boolean;
  /** Each condition the exception sets, in field order. */
  conditions: ConditionVerdict[];
}

/** TRC-1023 and TRC-1024 are the access mode of the open, which the kernel knows. */
const KERNEL_SIGNATURES = new Set(['TRC-1023', 'TRC-1024']);

export function kernelEnforceability(e: PolicyException): Enforceability {
  const conditions: ConditionVerdict[] = [];
  const add = (field: ConditionField, kernel: boolean, why: string) =>
    conditions.push({ field, kernel, why });
  if (e.signatures !== null) {
    const other = e.signatures.filter((s) => !KERNEL_SIGNATURES.has(s));
    add(
      'signatures',
      other.length === 0,
      other.length === 0
        ? 'the access mode of the open'
        : `${other.join(', ')}: not a kernel-side decision`,
    );
  }
  if (e.access.length < 2) add('access', true, 'the open flags');
  const o = e.opener;
  if (o.exe !== null) {
    const globs = o.exe.filter((g) => g.literal === undefined).map((g) => g.source);
    add(
      'opener.exe',
      globs.length === 0,
      globs.length === 0
        ? 'literal paths: pinned by device and inode when the policy loads'
        : `globs (${globs.join(', ')}) name no fixed set of files`,
    );
  }
  if (o.uid !== null) add('opener.uid', true, 'the opener credentials');
  if (e.relation !== null) add('relation', true, 'a bounded walk of real_parent');
  if (o.comm !== null) add('opener.comm', false, 'set by the process itself (prctl PR_SET_NAME)');
  if (o.parentExe !== null) add('opener.parentExe', false, 'not in the compact kernel form');
  if (o.container === 'host' && o.exe !== null && o.exe.every((g) => g.literal !== undefined))
    // The executable is pinned by the host file's device and inode: a container's file at
    // the same path is another inode, so "on the host" comes with it.
    add('opener.container', true, 'host: implied by the executable pinned from the host');
  else if (o.container !== 'any') add('opener.container', false, 'not in the compact kernel form');
  const t = e.target;
  if (t.exe !== null) add('target.exe', false, 'not in the compact kernel form');
  if (t.comm !== null) add('target.comm', false, 'set by the target itself');
  if (t.uid !== null) add('target.uid', false, 'not in the compact kernel form');
  return { enforceable: conditions.every((c) => c.kernel), conditions };
}
