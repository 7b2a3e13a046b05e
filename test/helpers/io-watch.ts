// The setup both proc_mem_io live tests (eBPF, fanotify) share: a heap_target whose memory
// their helpers open, one watcher with observeIo on for the whole file, the summaries it
// emitted, and waits for one opener's summary or finding.
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll } from 'vitest';
import type { ProcMemIoEvent } from '../../src/events/proc-mem-io.js';
import type { Finding } from '../../src/signatures/signature.js';
import type { BackendName } from '../../src/watcher/watcher.js';
import { spawnHeapTarget } from './heap-target.js';
import { type Collected, startWatcher, waitFor } from './live.js';

export interface IoWatch {
  /** The watcher (observeIo on): started in beforeAll, stopped in afterAll. */
  w: Collected;
  /** Every proc_mem_io event it emitted. */
  io: ProcMemIoEvent[];
  heapPid: number;
  /** heap_target's heap address (hex). */
  heapAddr: string;
  /** Waits for the summary of `pid`'s open. */
  ioOf(pid: number): Promise<ProcMemIoEvent>;
  /** Waits for a finding of `pid` from `c` (default: this watcher). */
  findingOf(pid: number, c?: Collected): Promise<Finding>;
}

/**
 * Registers the beforeAll and afterAll of the calling describe; the fields are set once its
 * beforeAll ran.
 */
export function useIoWatch(backend: BackendName, heapBytes: number): IoWatch {
  let heap: ChildProcess | undefined;
  const t: IoWatch = {
    w: undefined as unknown as Collected,
    io: [],
    heapPid: 0,
    heapAddr: '',
    ioOf: (pid) =>
      waitFor(`proc_mem_io of ${pid}`, () => t.io.find((e) => e.hostProcessId === pid)),
    findingOf: (pid, c = t.w) =>
      waitFor(`finding of ${pid}`, () => c.findings.find((f) => f.event.hostProcessId === pid)),
  };
  beforeAll(async () => {
    ({ child: heap, pid: t.heapPid, addr: t.heapAddr } = await spawnHeapTarget(heapBytes));
    t.w = await startWatcher(backend, { observeIo: true });
    t.w.watcher.on('io', (e) => t.io.push(e));
  });
  afterAll(async () => {
    await t.w?.watcher.stop();
    heap?.kill('SIGKILL');
  });
  return t;
}
