// Guard mode for one ProcMemWatcher (README "Guard mode"): the mode, the kernel table of the
// policy in use, handing both to the native capture, and the enforcement stats read back from
// the eBPF backend's counters. The decision itself is made in the kernel (guard.bpf.h).

import type { NativeCapture, NativeGuardConfig } from '../native.js';
import type { Policy } from '../policy/types.js';
import { type EnforceMode, type EnforceOption, enforceMode } from './mode.js';
import { type GuardTable, guardTable } from './table.js';

export interface EnforcementStats {
  /** 'off' (report only), 'enforce' (--enforce) or 'dry-run' (--enforce=dry-run). */
  mode: EnforceMode;
  /** Openers killed at the open: counted in the kernel, also when their event was lost. */
  killed: number;
  /** Opens the dry run would have stopped. */
  wouldKill: number;
  /** Kills the kernel refused (bpf_send_signal failed): those openers went on. */
  killFailures: number;
  /** Entries of the exception table in the kernel (an exception may need several). */
  exceptionsInKernel: number;
  /** Literal executable paths of the policy that pinned nothing on this host. */
  unpinned: string[];
}

export class Guard {
  readonly mode: EnforceMode;
  #table: GuardTable;

  /** Throws a PolicyError when guard mode is on and the policy cannot be enforced. */
  constructor(option: EnforceOption | undefined, policy: Policy | null) {
    this.mode = enforceMode(option);
    this.#table = this.#build(policy);
  }

  get on(): boolean {
    return this.mode !== 'off';
  }

  /**
   * Checks `policy` for guard mode and, when it can be enforced, makes it the table (and hands
   * it to `capture` when running). Throws a PolicyError and keeps the table otherwise.
   */
  setPolicy(policy: Policy | null, capture: NativeCapture | null): void {
    const table = this.#build(policy);
    if (capture) capture.setGuard(this.#config(table));
    this.#table = table;
  }

  /** Before the capture starts: its guard settings. */
  configure(capture: NativeCapture): void {
    if (this.on) capture.setGuard(this.#config(this.#table));
  }

  stats(native: Record<string, number>): EnforcementStats {
    return {
      mode: this.mode,
      killed: native.guard_killed ?? 0,
      wouldKill: native.guard_would_kill ?? 0,
      killFailures: native.guard_kill_failures ?? 0,
      exceptionsInKernel: this.on ? this.#table.entries.length : 0,
      unpinned: [...this.#table.unpinned],
    };
  }

  #build(policy: Policy | null): GuardTable {
    return this.on ? guardTable(policy) : { entries: [], killSelf: false, unpinned: [] };
  }

  #config(table: GuardTable): NativeGuardConfig {
    return { mode: this.mode, killSelf: table.killSelf, entries: table.entries };
  }
}
