// Finds and loads the native addon: the one resolver every caller uses (src/, the tests, bench/,
// scripts/). Nothing loads it before live capture (or doctor) asks for it, so replay, the engine,
// the formatters and the event model work where no binary fits. The interfaces below are the
// addon's JS API (documented in the same words at the top of native/binding.cc).
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NativeCaptureErrorCode } from './watcher/errors.js';

const require = createRequire(import.meta.url);
/** The package root: this file is src/native.ts or dist/native.js. */
const packageRoot = fileURLToPath(new URL('..', import.meta.url));

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

export interface NativeEbpfBuild {
  /** This addon was built with the eBPF backend (whether the kernel loads it shows at start). */
  built: boolean;
  /** Why not, when !built (the build found no clang, bpftool or static libbpf, ...). */
  error?: string;
  /**
   * Guard mode could kill here: built with the eBPF backend and the kernel offers
   * bpf_send_signal to tracepoint programs (the check capture start() makes under enforce).
   */
  guard: boolean;
  /** Why not, when !guard. */
  guardError?: string;
}

export interface NativeProbe {
  kernel: string;
  euid: number;
  capabilities: NativeCapabilities;
  fanotify: NativeFanotifyFeatures;
  ebpf: NativeEbpfBuild;
  procfsInstances: NativeProcfsInstance[];
}

export type NativeBackendName = 'ebpf' | 'fanotify' | 'audit';

/** `.code` of the Error thrown by NativeCapture.start() (native/capture_error.h). */
export type { NativeCaptureErrorCode };

export interface NativeCaptureOptions {
  backend: NativeBackendName;
  /** Records in the ring; rounded up to a power of two in [16, 32768]. Default 4096. */
  ringCapacity?: number;
  /** Observed access (eBPF backend): attach the read/write tracking programs. */
  observeIo?: boolean;
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
 * procfs_instances, mounts_seen, named_by_inode, unnamed_mem; ebpf: events_read, emitted, kernel_drops, io_uring_events,
 * path_from_fd, path_from_kernel, attach_syscall_tracepoints, attach_sys_exit,
 * attach_io_uring_complete, guard_mode, guard_exceptions, guard_killed, guard_would_kill,
 * guard_kill_failures) and of the
 * process table (prefixed "table_").
 */
export type NativeCaptureStats = Record<string, number>;

/** One entry of guard mode's kernel table (struct pmg_guard_exception, guard_decide.h). */
export interface NativeGuardEntry {
  /** Pinned executable: kernel dev_t (major << 20 | minor) and inode; null: any executable. */
  exe: { dev: number; ino: bigint } | null;
  /** Real uids, at most 8; null: any uid. */
  uids: number[] | null;
  /** Relation bits (1 self, 2 ancestor, 4 descendant, 8 unrelated); null: any relation. */
  relations: number | null;
  /** Bits of the findings it covers: 1 TRC-1023, 2 TRC-1024. */
  signatures: number;
  /** Access bits it allows: 1 read, 2 write. */
  access: number;
}

/** Guard mode's settings for setGuard() (native/guard_config.h; built by src/guard/table.ts). */
export interface NativeGuardConfig {
  mode: 'off' | 'enforce' | 'dry-run';
  killSelf: boolean;
  /** At most 64 (native/ebpf/guard_decide.h PMG_GUARD_MAX_EXCEPTIONS). */
  entries: NativeGuardEntry[];
}

export interface NativeCapture {
  /** The shared ring (layout: native/ring/ring.h). Stays valid as long as it is referenced. */
  readonly ring: ArrayBuffer;
  readonly backend: NativeBackendName;
  /**
   * Guard mode: applied at the next start() and, while running, to the exception table at once
   * (the mode itself is fixed while running). Any mode but 'off' throws ENFORCE_UNAVAILABLE on
   * a backend other than ebpf; start() throws it where the kernel lacks bpf_send_signal.
   */
  setGuard(config: NativeGuardConfig): void;
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

/** Byte layout of the native CaptureRecord and ring header (offsetof/sizeof in the addon). */
export interface NativeRecordLayout {
  recordSize: number;
  recordVersion: number;
  /** Every CaptureRecord member by its C++ name (snake_case), in declaration order. */
  fields: Record<string, { offset: number; size: number }>;
  ring: {
    headerSize: number;
    headerVersion: number;
    magic: number;
    magicOffset: number;
    versionOffset: number;
    capacityOffset: number;
    recordSizeOffset: number;
    writeSeqOffset: number;
    readSeqOffset: number;
    wakePendingOffset: number;
    lostOffset: number;
    lostSlots: number;
    defaultCapacity: number;
    maxCapacity: number;
  };
}

export interface NativeAddon {
  probe(): NativeProbe;
  /** The record and ring layouts as compiled (test/capture/layout.test.ts checks src/capture). */
  recordLayout(): NativeRecordLayout;
  createCapture(options: NativeCaptureOptions): NativeCapture;
  /** Throws if the audit netlink socket is unavailable. */
  auditStatus(): NativeAuditStatus;
  auditListRules(): NativeAuditRule[];
}

/** node-gyp-build's prebuild matching (the same rules its install-time check applies). */
interface NodeGypBuild {
  parseTuple(name: string): { name: string } | undefined;
  matchTuple(platform: string, arch: string): (tuple: unknown) => boolean;
  compareTuples(a: unknown, b: unknown): number;
  parseTags(file: string): { file: string } | undefined;
  matchTags(runtime: string, abi: string): (tags: unknown) => boolean;
  compareTags(runtime: string): (a: unknown, b: unknown) => number;
}

const listDir = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);

/** prebuilds/<platform>-<arch>/<name>[.napi][.glibc|.musl].node fitting this process, if any. */
function prebuildFor(root: string): string | undefined {
  const ngb = require('node-gyp-build') as NodeGypBuild;
  const dir = join(root, 'prebuilds');
  const tuple = listDir(dir)
    .map(ngb.parseTuple)
    .filter(ngb.matchTuple(process.platform, process.arch))
    .sort(ngb.compareTuples)[0] as { name: string } | undefined;
  if (!tuple) return undefined;
  const best = listDir(join(dir, tuple.name))
    .map(ngb.parseTags)
    .filter(ngb.matchTags('node', process.versions.modules))
    .sort(ngb.compareTags('node'))[0] as { file: string } | undefined;
  return best && join(dir, tuple.name, best.file);
}

/**
 * Where the addon may be, in the order loadNative() tries them: the prebuild shipped in the
 * package for this platform, arch and libc, then a source build (build/Release, build/Debug).
 */
export function addonCandidates(root = packageRoot): string[] {
  const prebuild = prebuildFor(root);
  return [
    ...(prebuild ? [prebuild] : []),
    join(root, 'build', 'Release', 'procmem_guard.node'),
    join(root, 'build', 'Debug', 'procmem_guard.node'),
  ];
}

/** What a consumer does about a missing or unloadable addon. */
export const NATIVE_FIX =
  'Run "npm rebuild procmem-guard" (add -g for a global install): it uses the prebuilt addon ' +
  'when one fits this system (linux x64 or arm64 with glibc >= 2.28), else compiles from ' +
  'source, which needs python3, make and a C++17 compiler (Debian/Ubuntu: apt-get install ' +
  'python3 make g++; RHEL/Fedora: dnf install python3 make gcc-c++; Alpine: apk add python3 ' +
  'make g++ linux-headers). Replay and the signature engine work without the addon.';

let cached: { addon: NativeAddon; path: string } | undefined;

/**
 * The addon, loaded once from the first candidate that loads (a prebuild that exists but does
 * not load here, say on an older glibc, falls through to a source build). Throws an Error
 * naming every candidate tried and the fix (NATIVE_FIX) when none loads.
 */
export function loadNative(): NativeAddon {
  if (cached) return cached.addon;
  const candidates = addonCandidates();
  const target = `${process.platform}-${process.arch}`;
  const tried = candidates[0]?.includes(`${sep}prebuilds${sep}`)
    ? []
    : [`no prebuild for ${target} in ${join(packageRoot, 'prebuilds')}`];
  for (const path of candidates) {
    if (!existsSync(path)) {
      tried.push(`${path}: not found`);
      continue;
    }
    try {
      cached = { addon: require(path) as NativeAddon, path };
      return cached.addon;
    } catch (err) {
      tried.push(`${path}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  throw new Error(`no native addon loads on ${target} (${tried.join('; ')}). ${NATIVE_FIX}`);
}

/** The file loadNative() loaded (loading it if needed), for child processes that need the same. */
export function nativeAddonPath(): string {
  loadNative();
  return (cached as { path: string }).path;
}
