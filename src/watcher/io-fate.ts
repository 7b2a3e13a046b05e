// What the policy did to an open decides what happens to its proc_mem_io summary, which comes
// later: an open whose every finding a suppress exception dropped (gdb on its inferior, say)
// gets no summary either, and one whose finding an annotate exception marked gets the same
// marks. Folded findings (dedup) leave their summary as it is: what was read is news even when
// the open repeats. The watcher tells this table about each open as it runs it through the
// engine, and asks it about each summary; only opens with a fate to remember are kept, at most
// MAX_REMEMBERED (the capture backends track at most 4096 opens: native/ebpf/io_track.bpf.h,
// native/fanotify/io_table.h), oldest forgotten first.

import { ioArg, type ProcMemIoEvent } from '../events/proc-mem-io.js';
import type { TraceeEvent } from '../events/types.js';
import type { Finding } from '../signatures/signature.js';

export const MAX_REMEMBERED = 4096;

interface Fate {
  /** Every finding of the open was suppressed, the first by this exception. */
  suppressedBy?: string;
  /** Annotate exceptions that marked a delivered finding of the open. */
  exceptions?: string[];
}

/** An open and its summary share the opener, the fd and the open's timestamp. */
function keyOf(pid: number, fd: number, timestamp: bigint | number): string {
  return `${pid}:${fd}:${timestamp}`;
}

export class IoFates {
  readonly #fates = new Map<string, Fate>();
  #open: { key: string; delivered: boolean; fate: Fate } | null = null;
  /** Summaries dropped because their open's findings were suppressed. */
  suppressed = 0;

  /** An open event is about to go through the engine. */
  begin(event: TraceeEvent): void {
    this.#open = {
      key: keyOf(event.hostProcessId, event.returnValue, event.timestamp),
      delivered: false,
      fate: {},
    };
  }

  /** The engine delivered `finding` for the open in progress. */
  delivered(finding: Finding): void {
    const open = this.#open;
    if (open === null) return;
    open.delivered = true;
    const marks = finding.event.procmemGuard?.exceptions;
    if (marks?.length)
      open.fate.exceptions = [...new Set([...(open.fate.exceptions ?? []), ...marks])];
  }

  /** A suppress exception dropped a finding of the open in progress. */
  suppressedBy(exception: string): void {
    const open = this.#open;
    if (open !== null) open.fate.suppressedBy ??= exception;
  }

  /** The open has been through the engine: remembers its fate if it has one. */
  end(): void {
    const open = this.#open;
    this.#open = null;
    if (open === null) return;
    // A delivered finding outweighs suppressed ones: the summary follows it, with its marks.
    const { exceptions, suppressedBy } = open.fate;
    let fate: Fate;
    if (open.delivered) {
      if (exceptions === undefined) return;
      fate = { exceptions };
    } else {
      if (suppressedBy === undefined) return;
      fate = { suppressedBy };
    }
    if (this.#fates.size >= MAX_REMEMBERED) {
      const oldest = this.#fates.keys().next().value as string;
      this.#fates.delete(oldest);
    }
    this.#fates.set(open.key, fate);
  }

  /** The summary to emit (`io`, or a copy with its open's marks), or undefined to drop it. */
  apply(io: ProcMemIoEvent): ProcMemIoEvent | undefined {
    const key = keyOf(io.hostProcessId, ioArg(io, 'fd'), io.procmemGuard.io.openTimestamp);
    const fate = this.#fates.get(key);
    if (fate === undefined) return io;
    this.#fates.delete(key);
    if (fate.suppressedBy !== undefined) {
      this.suppressed++;
      return undefined;
    }
    return { ...io, procmemGuard: { ...io.procmemGuard, exceptions: fate.exceptions } };
  }

  /** Forgets every open (a new capture starts). */
  clear(): void {
    this.#fates.clear();
    this.#open = null;
  }
}
