// Loads the compiled addon. The only place that knows where node-gyp puts it. The interfaces
// below are the addon's JS API (documented in the same words at the top of native/binding.cc).
import { createRequire } from 'node:module';
import type { CaptureErrorCode } from './watcher/errors.js';

const require = createRequire(import.meta.url);

export interface NativeCapabilities {
  /** CapEff of this process, hex as in /proc/self/status. */
  effective: string;
  sysAdmin: boolean;
  auditControl: boolean;
  auditRead: boolean;
}

export interface NativeFanotifyFeatures {
  available: boolean;
  /** Why not available (actionable), when !available. */
  error?: string;
  /** FAN_REPORT_FD_ERROR: events whose target exited are delivered, not lost. */
  reportFdError: boolean;
  /** FAN_REPORT_TID: the opener's thread id is known. */
  reportTid: boolean;
  /** FAN_MARK_FILESYSTEM works on /proc (else mount marks are used). */
  markFilesystem: boolean;
  /** Why marking /proc failed, if it did. */
  markError?: string;
}

export interface NativeProcfsInstance {
  /** Path reaching the procfs from this mount namespace (what gets marked). */
  path: string;
  /** Where it is mounted in its own mount namespace. */
  mountpoint: string;
  /** st_dev of its superblock. */
  dev: number;
  /** Pid namespace inode whose pids it shows (0 if unknown). */
  pidNs: number;
  /** Its pids are host pids (no translation). */
  hostPids: boolean;
}

export interface NativeProbe {
  kernel: string;
  euid: number;
  capabilities: NativeCapabilities;
  fanotify: NativeFanotifyFeatures;
  procfsInstances: NativeProcfsInstance[];
}

export type NativeBackendName = 'fanotify' | 'audit';

/** `.code` of the Error thrown by NativeCapture.start() (native CaptureError). */
export type NativeCaptureErrorCode = Exclude<CaptureErrorCode, 'NATIVE_MISSING'>;

export interface NativeCaptureOptions {
  backend: NativeBackendName;
  /** Records in the ring; rounded up to a power of two in [16, 65536]. Default 4096. */
  ringCapacity?: number;
  /** Called on the JS thread when records or losses are waiting; drain with RingReader. */
  onWake: () => void;
  /** A non-fatal problem (a procfs the kernel would not mark, a lost event, ...). */
  onWarn?: (message: string) => void;
}

/**
 * Counters of the backend (fanotify: events_read, filtered_not_mem, filtered_self, emitted,
 * overflows, unreadable, target_exited, exited_target_unknown, fdinfo_flags, inferred_flags,
 * unknown_flags, marks, mark_failures, procfs_instances, rescans; audit: mode (1 audit daemon, 2 read-log group),
 * records, events_read, emitted, filtered_not_mem, incomplete, kernel_lost, enobufs, parse_errors,
 * kernel_backlog, handovers, syscall_flags, fdinfo_flags, unknown_flags, foreign_key,
 * procfs_instances, mounts_seen) and of the process table (prefixed "table_").
 */
export type NativeCaptureStats = Record<string, number>;

export interface NativeCapture {
  /** The shared ring (layout: native/ring/ring.h). Stays valid as long as it is referenced. */
  readonly ring: ArrayBuffer;
  readonly backend: NativeBackendName;
  /** Capture is live when it returns. Idempotent. Throws Error & { code: NativeCaptureErrorCode }. */
  start(): void;
  /** Joins threads and releases every kernel object. Idempotent; start() may follow. */
  stop(): void;
  stats(): NativeCaptureStats;
}

/** Kernel audit status (AUDIT_GET). */
export interface NativeAuditStatus {
  /** 0 disabled, 1 enabled, 2 locked. */
  enabled: number;
  failure: number;
  /** Registered audit daemon, 0 if none. */
  pid: number;
  backlogLimit: number;
  /** Kernel counter of lost records. */
  lost: number;
  backlog: number;
  /** How long a task that logs may wait for backlog room (kernel jiffies); 0 = never waits. */
  backlogWaitTime: number;
  /** Total time tasks waited for backlog room since boot or the last reset (jiffies). */
  backlogWaitTimeActual: number;
}

/** One kernel audit rule (AUDIT_LIST_RULES), enough to tell ours (key 'procmem-guard'). */
export interface NativeAuditRule {
  key: string;
  flags: number;
  action: number;
  fieldCount: number;
}

export interface NativeAddon {
  probe(): NativeProbe;
  createCapture(options: NativeCaptureOptions): NativeCapture;
  /** Throws if the audit netlink socket is unavailable. */
  auditStatus(): NativeAuditStatus;
  auditListRules(): NativeAuditRule[];
}

let cached: NativeAddon | undefined;

/** The addon, loaded once. Throws with a clear message if it was not built. */
export function loadNative(): NativeAddon {
  if (cached) return cached;
  try {
    cached = require('../build/Release/procmem_guard.node') as NativeAddon;
  } catch (err) {
    throw new Error(
      `procmem-guard: the native addon is not built (build/Release/procmem_guard.node): ${(err as Error).message}. Run "npm run build:native" on Linux.`,
    );
  }
  return cached;
}
