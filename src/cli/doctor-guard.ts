// doctor's side of guard mode (README "procmem-guard doctor", "Guard mode"): can `watch
// --enforce` run here, and why not; would it accept the --policy given. Nothing is judged
// twice: the capture is started the way `watch --enforce=dry-run` starts it (the addon's
// bpf_send_signal probe, the backend's refusal, the eBPF load with the guard code), and the
// policy goes through the Guard that `watch --enforce` builds.

import { printable } from '../events/printable.js';
import { Guard } from '../guard/guard.js';
import type { NativeProbe } from '../native.js';
import { type Policy, PolicyError } from '../policy/types.js';
import type { Finding } from '../signatures/signature.js';
import { type BackendChoice, ProcMemWatcher } from '../watcher/watcher.js';

export interface DoctorCapture {
  watcher: ProcMemWatcher;
  /** Why guard mode cannot run here; undefined when the watcher runs in guard dry-run mode. */
  guardUnavailable?: string;
}

/**
 * Starts doctor's capture: in guard dry-run mode with no exceptions when that starts (the
 * kernel then marks the self-test open "would-kill", killing nothing), else as doctor always
 * did (with 'auto' that may be another backend). Throws when the plain start fails too.
 */
export async function startDoctorCapture(
  backend: BackendChoice,
  probe: NativeProbe,
  onWarning: (message: string) => void,
): Promise<DoctorCapture> {
  const make = (enforce: 'dry-run' | false) => {
    const w = new ProcMemWatcher({ backend, enforce });
    w.on('error', (e) => onWarning(e.message));
    return w;
  };
  let guardUnavailable = probe.ebpf.guard ? undefined : probe.ebpf.guardError;
  if (guardUnavailable === undefined) {
    const guarded = make('dry-run');
    try {
      await guarded.start();
      return { watcher: guarded };
    } catch (err) {
      guardUnavailable = (err as Error).message;
    }
  }
  const watcher = make(false);
  await watcher.start();
  return { watcher, guardUnavailable: guardUnavailable ?? 'unknown reason' };
}

/** The `guard mode` line, once the self-test finding (if any) is known. */
export function guardModeLine(capture: DoctorCapture, selfTest: Finding | undefined): string {
  if (capture.guardUnavailable !== undefined) return `unavailable: ${capture.guardUnavailable}`;
  const action = selfTest?.event.procmemGuard?.action;
  if (action === 'would-kill')
    return 'available (eBPF, bpf_send_signal; the kernel decision in a dry run marked the self-test open would-kill)';
  return selfTest === undefined
    ? 'unverified: the eBPF backend started in guard dry-run mode, but no self-test finding came to check its decision'
    : `unverified: the eBPF backend started in guard dry-run mode, but the self-test finding says ${action ?? 'no action'}, not would-kill`;
}

/** The `guard policy` line: whether `watch --enforce --policy FILE` would accept `policy`. */
export function guardPolicyLine(policy: Policy): string {
  const file = printable(policy.source);
  let guard: Guard;
  try {
    guard = new Guard(true, policy);
  } catch (err) {
    if (!(err instanceof PolicyError)) throw err;
    return `refused by --enforce: ${printable(err.message)}`;
  }
  const s = guard.stats({});
  const absent = s.unpinned.length
    ? `; executables not on this host: ${s.unpinned.map(printable).join(', ')}`
    : '';
  return `${file}: accepted by --enforce, ${s.exceptionsInKernel} exception entries in the kernel${absent}`;
}
