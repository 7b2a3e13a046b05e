// The event model: Tracee's trace.Event (types/trace/trace.go) under its JSON field names.
// 64-bit kernel values (nanosecond times, cgroup ids, inode numbers, device numbers) are
// bigint: Tracee prints them as 19-digit integers that a JavaScript number cannot hold.

/** A JSON value as this project reads it: integers beyond 2^53 arrive as bigint. */
export type JsonValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | JsonValue[]
  | { [key: string]: JsonValue };

export type JsonObject = { [key: string]: JsonValue };

/** One Tracee argument: `{name, type, value}`, `type` being Tracee's C type name. */
export interface TraceeArgument<Name extends string = string, Value extends JsonValue = JsonValue> {
  name: Name;
  type: string;
  value: Value;
}

export interface TraceeContainer {
  id?: string;
  name?: string;
  image?: string;
  imageDigest?: string;
}

/** How the capture layer learned the open flags. */
export type FlagsSource = 'fdinfo' | 'inferred' | 'syscall' | 'kernel' | 'unknown' | 'tracee';

/** How the opener is related to the target (see TargetInfo.relation). */
export type TargetRelation = 'self' | 'ancestor' | 'descendant' | 'unrelated';
export const TARGET_RELATIONS: readonly TargetRelation[] = [
  'self',
  'ancestor',
  'descendant',
  'unrelated',
];

/**
 * The process whose memory was opened, read at capture time (live events only). A field that
 * could not be read is absent, never guessed.
 */
export interface TargetInfo {
  /** Host pid (= targetPid). */
  pid: number;
  /** Host tid (= targetTid). */
  tid: number;
  comm?: string;
  /** Executable path. */
  exe?: string;
  /** Real uid. */
  uid?: number;
  /** 64-hex container id; '' = on the host, not in a container. */
  containerId?: string;
  /** Process start, epoch ns: the same clock as the event's threadStartTime. */
  startTime?: bigint;
  /**
   * The opener to the target: 'self' (same process), 'ancestor' (the opener started the
   * target, directly or through its descendants), 'descendant' (the target started the
   * opener), 'unrelated'. Absent when a parent chain could not be followed to the end.
   */
  relation?: TargetRelation;
}

/**
 * procmem-guard's own capture metadata, kept apart from Tracee's fields under the JSON key
 * `procmemGuard`. Absent on events read from Tracee.
 */
export interface CaptureMark {
  /** The kernel identified the opened file as a procfs mem file (whatever the path). */
  procfsMem: boolean;
  /** Process whose memory the file exposes, when known. */
  targetPid?: number;
  /** Thread, for /proc/<pid>/task/<tid>/mem. */
  targetTid?: number;
  flagsSource: FlagsSource;
  /** Capture backend that produced the event ("fanotify", "audit", ...). */
  backend?: string;
  /**
   * Caveats the capture recorded: 'opener-exited' (attribution came from the process table),
   * 'attribution-missing', 'path-unknown' (the target exited before the kernel could name the
   * file), 'truncated' (a string field was cut).
   */
  notes?: string[];
  /** The process whose memory was opened, read at capture time (live events only). */
  target?: TargetInfo;
  /** The opener's parent's executable, read at capture time (live events only). */
  parentExe?: string;
  /** Names of the policy exceptions with action "annotate" that matched this finding. */
  exceptions?: string[];
  /** Dedup: findings folded into this one since the last one emitted for its key. */
  repeats?: number;
  /**
   * Guard mode (eBPF backend): 'killed' (--enforce: the opener got SIGKILL at the open, before
   * it returned to user space) or 'would-kill' (--enforce=dry-run). Absent: the open went on.
   */
  action?: GuardAction;
  /** proc_mem_io events only: how the summary ties to its open (src/events/proc-mem-io.ts). */
  io?: IoInfo;
}

/** How a tracked open ended: its proc_mem_io summary was sent then. */
export type IoEnd =
  | 'closed'
  | 'replaced'
  | 'exited'
  | 'close-range'
  | 'exec'
  | 'watcher-stopped'
  | 'unknown';

/** procmemGuard.io of a proc_mem_io event. */
export interface IoInfo {
  /** The open event's timestamp (epoch ns): with hostProcessId and fd it names the finding. */
  openTimestamp: bigint;
  end: IoEnd;
}

/** What guard mode did to an opener (CaptureMark.action). */
export type GuardAction = 'killed' | 'would-kill';
export const GUARD_ACTIONS: readonly GuardAction[] = ['killed', 'would-kill'];

/** trace.Event's leading integer fields, in Tracee's order (64-bit ones are bigint). */
export const LEADING_INTEGER_FIELDS = [
  'timestamp',
  'threadStartTime',
  'processorId',
  'processId',
  'cgroupId',
  'threadId',
  'parentProcessId',
  'hostProcessId',
  'hostThreadId',
  'hostParentProcessId',
  'userId',
  'mountNamespace',
  'pidNamespace',
] as const;

/** The Tracee fields this model keeps in `extra` (it names no field for them), in Tracee's order. */
export const TRACEE_EXTRA_FIELDS = [
  'kubernetes',
  'matchedPolicies',
  'stackAddresses',
  'contextFlags',
  'threadEntityId',
  'processEntityId',
  'parentEntityId',
] as const;

/** The largest 64-bit unsigned value: timestamps, cgroup ids, dev, inode and ctime fit in it. */
export const U64_MAX = 2n ** 64n - 1n;
/** The largest pid_t (a signed 32-bit int; pids are never negative). */
export const PID_MAX = 2 ** 31 - 1;
/** The largest 32-bit unsigned value: a uid_t. */
export const U32_MAX = 2 ** 32 - 1;
/** Context fields shared by every Tracee event. */
export interface TraceeEventContext {
  timestamp: bigint;
  threadStartTime: bigint;
  processorId: number;
  processId: number;
  cgroupId: bigint;
  threadId: number;
  parentProcessId: number;
  hostProcessId: number;
  hostThreadId: number;
  hostParentProcessId: number;
  userId: number;
  mountNamespace: number;
  pidNamespace: number;
  processName: string;
  executable: { path: string };
  hostName: string;
  containerId: string;
  container: TraceeContainer;
  eventId: number;
  eventName: string;
  argsNum: number;
  returnValue: number;
  syscall: string;
}

export interface TraceeEvent extends TraceeEventContext {
  args: TraceeArgument[];
  procmemGuard?: CaptureMark;
  /**
   * Fields this model does not name (kubernetes, contextFlags, matchedPolicies, ...), in
   * input order, so that reading and writing an event keeps them.
   */
  extra?: JsonObject;
}

export const SECURITY_FILE_OPEN = 'security_file_open';
/** Tracee's event id for security_file_open in current releases (older ones used 722, 730). */
export const SECURITY_FILE_OPEN_EVENT_ID = 732;

/** security_file_open's arguments, in Tracee's order; extra arguments may follow. */
export type SecurityFileOpenArgs = [
  TraceeArgument<'pathname', string>,
  /** The raw integer (type "int") or Tracee's parsed string (type "string"). */
  TraceeArgument<'flags', number | string>,
  TraceeArgument<'dev', bigint>,
  TraceeArgument<'inode', bigint>,
  TraceeArgument<'ctime', bigint>,
  TraceeArgument<'syscall_pathname', string>,
  ...TraceeArgument[],
];

export interface SecurityFileOpenEvent extends TraceeEvent {
  eventName: typeof SECURITY_FILE_OPEN;
  args: SecurityFileOpenArgs;
}

export function isSecurityFileOpen(event: TraceeEvent): event is SecurityFileOpenEvent {
  return event.eventName === SECURITY_FILE_OPEN;
}
