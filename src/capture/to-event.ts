// Turns a native CaptureRecord into a Tracee security_file_open event, or an io summary record
// into a proc_mem_io event. The only place that knows both layouts.
import { createSecurityFileOpenEvent } from '../events/build.js';
import { createProcMemIoEvent, type ProcMemIoEvent } from '../events/proc-mem-io.js';
import type {
  CaptureMark,
  FlagsSource as FlagsSourceName,
  IoEnd,
  SecurityFileOpenEvent,
  TargetInfo,
  TargetRelation,
  TraceeEventContext,
} from '../events/types.js';
import {
  BackendId,
  type CaptureRecord,
  FlagsSource,
  GuardActionCode,
  IoEndCode,
  RecordFlag,
  TargetField,
  TargetRelationCode,
} from './record.js';

const flagsSourceNames: Record<number, FlagsSourceName> = {
  [FlagsSource.unknown]: 'unknown',
  [FlagsSource.fdinfo]: 'fdinfo',
  [FlagsSource.inferred]: 'inferred',
  [FlagsSource.syscall]: 'syscall',
  [FlagsSource.kernel]: 'kernel',
};

const backendNames: Record<number, string> = {
  [BackendId.fanotify]: 'fanotify',
  [BackendId.audit]: 'audit',
  [BackendId.ebpf]: 'ebpf',
};

// x86-64 syscall numbers the audit and eBPF backends report (fanotify does not know the
// syscall). 426: an io_uring IORING_OP_OPENAT/OPENAT2 request (eBPF backend).
const syscallNames: Record<number, string> = {
  2: 'open',
  257: 'openat',
  437: 'openat2',
  426: 'io_uring_enter',
};

/**
 * Userspace st_dev (glibc encoding) to the kernel's internal dev_t (major << 20 | minor),
 * which is what Tracee prints for security_file_open's `dev`.
 */
export function stDevToKernelDev(dev: bigint): bigint {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return (major << 20n) | minor;
}

/** The Tracee context of the opener, and procmemGuard, shared by both kinds of record. */
function contextOf(rec: CaptureRecord, hostName: string) {
  // Thread start: the kernel counts from boot; Tracee prints epoch nanoseconds. The record's
  // realtime and monotonic readings of one moment give the boot time (a VM that was suspended
  // would be off by the suspended time).
  const bootEpochNs = rec.timestampNs - rec.monotonicNs;
  const flags = rec.recordFlags;
  const context: Omit<TraceeEventContext, 'eventId' | 'eventName' | 'argsNum'> = {
    timestamp: rec.timestampNs,
    threadStartTime: rec.threadStartNs > 0n ? rec.threadStartNs + bootEpochNs : 0n,
    processorId: rec.processorId,
    processId: rec.nsPid,
    cgroupId: rec.cgroupId,
    threadId: rec.nsTid,
    parentProcessId: rec.nsPpid,
    hostProcessId: rec.hostPid,
    hostThreadId: rec.hostTid,
    hostParentProcessId: rec.hostPpid,
    userId: rec.uid,
    mountNamespace: rec.mntNs,
    pidNamespace: rec.pidNs,
    processName: rec.comm,
    executable: { path: rec.exe },
    hostName,
    containerId: rec.containerId,
    container: rec.containerId ? { id: rec.containerId } : {},
    returnValue: rec.returnValue,
    syscall: syscallNames[rec.syscallNr] ?? '',
  };
  const mark: CaptureMark = {
    procfsMem: (flags & RecordFlag.procfsMem) !== 0,
    targetPid: rec.targetPid,
    targetTid: rec.targetTid,
    flagsSource: flagsSourceNames[rec.flagsSource] ?? 'unknown',
    backend: backendNames[rec.backend] ?? 'unknown',
    ...captureNotes(flags),
    ...(rec.targetPid > 0 ? { target: targetInfo(rec, bootEpochNs) } : {}),
    ...(rec.parentExe ? { parentExe: rec.parentExe } : {}),
    ...guardAction(rec.guardAction),
  };
  return { context, mark, bootEpochNs };
}

/** An open record as Tracee's security_file_open. */
export function recordToEvent(rec: CaptureRecord, hostName: string): SecurityFileOpenEvent {
  const { context, mark } = contextOf(rec, hostName);
  return createSecurityFileOpenEvent({
    ...context,
    pathname: rec.pathname,
    flags: rec.openFlags,
    dev: stDevToKernelDev(rec.dev),
    inode: rec.inode,
    ctime: rec.ctimeNs,
    syscallPathname: rec.syscallPathname || rec.pathname,
    procmemGuard: mark,
  });
}

const ioEndNames: Record<number, IoEnd> = {
  [IoEndCode.closed]: 'closed',
  [IoEndCode.replaced]: 'replaced',
  [IoEndCode.exited]: 'exited',
  [IoEndCode.closeRange]: 'close-range',
  [IoEndCode.execed]: 'exec',
  [IoEndCode.watcherStopped]: 'watcher-stopped',
};

/**
 * An io summary record (recordKind ioSummary) as a proc_mem_io event: the open's opener,
 * target and pathname, stamped at the end of the tracked open.
 */
export function recordToIoEvent(rec: CaptureRecord, hostName: string): ProcMemIoEvent {
  const { context, mark, bootEpochNs } = contextOf(rec, hostName);
  const bytesKnown = (rec.recordFlags & RecordFlag.ioBytesUnknown) === 0;
  const end = rec.monotonicNs;
  const start = rec.ioOpenMonotonicNs;
  return createProcMemIoEvent({
    context,
    mark,
    fd: rec.ioFd,
    pathname: rec.pathname,
    reads: rec.ioReads,
    writes: rec.ioWrites,
    bytesRead: bytesKnown ? rec.ioBytesRead : null,
    bytesWritten: bytesKnown ? rec.ioBytesWritten : null,
    durationNs: end > start ? end - start : 0n,
    openTimestamp: start + bootEpochNs,
    end: ioEndNames[rec.ioEnd] ?? 'unknown',
  });
}

/** procmemGuard.action: what guard mode did to the opener (eBPF backend). */
function guardAction(code: number): { action?: 'killed' | 'would-kill' } {
  if (code === GuardActionCode.killed) return { action: 'killed' };
  if (code === GuardActionCode.wouldKill) return { action: 'would-kill' };
  return {};
}

const relationNames: Record<number, TargetRelation> = {
  [TargetRelationCode.self]: 'self',
  [TargetRelationCode.ancestor]: 'ancestor',
  [TargetRelationCode.descendant]: 'descendant',
  [TargetRelationCode.unrelated]: 'unrelated',
};

/** procmemGuard.target: only the fields the capture could read (targetKnown). */
function targetInfo(rec: CaptureRecord, bootEpochNs: bigint): TargetInfo {
  const known = rec.targetKnown;
  const target: TargetInfo = { pid: rec.targetPid, tid: rec.targetTid };
  if (known & TargetField.comm) target.comm = rec.targetComm;
  if (known & TargetField.exe) target.exe = rec.targetExe;
  if (known & TargetField.uid) target.uid = rec.targetUid;
  if (known & TargetField.containerId) target.containerId = rec.targetContainerId;
  if (known & TargetField.startTime) target.startTime = rec.targetStartNs + bootEpochNs;
  const relation = relationNames[rec.targetRelation];
  if (relation !== undefined) target.relation = relation;
  return target;
}

const noteBits: [number, string][] = [
  [RecordFlag.openerExited, 'opener-exited'],
  [RecordFlag.attributionMissing, 'attribution-missing'],
  [RecordFlag.fileUnknown, 'path-unknown'],
  [RecordFlag.pathTruncated, 'truncated'],
  [RecordFlag.ioUring, 'io-uring'],
  [RecordFlag.ioBytesUnknown, 'bytes-unknown'],
];

function captureNotes(flags: number): { notes?: string[] } {
  const notes = noteBits.filter(([bit]) => flags & bit).map(([, note]) => note);
  return notes.length ? { notes } : {};
}
