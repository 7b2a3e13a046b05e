// Decodes one CaptureRecord (native/record.h) from the shared ring. The layout below lists the
// struct's members in order with their types; every offset is derived from it (the struct is
// packed). test/capture/layout.test.ts checks the derived offsets and sizes against the ones
// the addon computes with offsetof/sizeof (recordLayout()), so a change to one side alone
// fails a test that needs no root. Change both together and bump RECORD_VERSION.

export const RECORD_VERSION = 4;

type FieldType = 'u8' | 'u16' | 'u32' | 'i32' | 'u64' | 'str' | 'bytes';
const TYPE_SIZES: Record<Exclude<FieldType, 'str' | 'bytes'>, number> = {
  u8: 1,
  u16: 2,
  u32: 4,
  i32: 4,
  u64: 8,
};

/** The members of native CaptureRecord in declaration order (camelCase of the C++ names). */
const MEMBERS = [
  ['size', 'u32'],
  ['version', 'u16'],
  ['backend', 'u8'],
  ['flagsSource', 'u8'],
  ['timestampNs', 'u64'],
  ['monotonicNs', 'u64'],
  ['hostPid', 'i32'],
  ['hostTid', 'i32'],
  ['hostPpid', 'i32'],
  ['nsPid', 'i32'],
  ['nsTid', 'i32'],
  ['nsPpid', 'i32'],
  ['uid', 'u32'],
  ['gid', 'u32'],
  ['targetPid', 'i32'],
  ['targetTid', 'i32'],
  ['openFlags', 'i32'],
  ['mntNs', 'u32'],
  ['pidNs', 'u32'],
  ['recordFlags', 'u32'],
  ['dev', 'u64'],
  ['inode', 'u64'],
  ['ctimeNs', 'u64'],
  ['cgroupId', 'u64'],
  ['threadStartNs', 'u64'],
  ['returnValue', 'i32'],
  ['syscallNr', 'u32'],
  ['comm', 'str', 16],
  ['containerId', 'str', 72],
  ['pathname', 'str', 256],
  ['syscallPathname', 'str', 256],
  ['exe', 'str', 256],
  ['processorId', 'u32'],
  ['targetUid', 'u32'],
  ['targetStartNs', 'u64'],
  ['targetRelation', 'u8'],
  ['targetKnown', 'u8'],
  ['targetReserved', 'u16'],
  ['targetComm', 'str', 16],
  ['targetContainerId', 'str', 72],
  ['targetExe', 'str', 256],
  ['parentExe', 'str', 256],
  ['guardAction', 'u8'],
  ['guardReserved', 'bytes', 7],
  ['recordKind', 'u8'],
  ['ioEnd', 'u8'],
  ['ioReserved', 'bytes', 2],
  ['ioFd', 'u32'],
  ['ioPad', 'u32'],
  ['ioReads', 'u64'],
  ['ioWrites', 'u64'],
  ['ioBytesRead', 'u64'],
  ['ioBytesWritten', 'u64'],
  ['ioOpenMonotonicNs', 'u64'],
  ['reserved', 'bytes', 384],
] as const satisfies readonly (
  | readonly [string, Exclude<FieldType, 'str' | 'bytes'>]
  | readonly [string, 'str' | 'bytes', number]
)[];

export type RecordMember = (typeof MEMBERS)[number][0];

/** Offset and size in bytes of every member, derived from MEMBERS. */
export const RECORD_LAYOUT = (() => {
  const layout = {} as Record<RecordMember, { offset: number; size: number; type: FieldType }>;
  let offset = 0;
  for (const member of MEMBERS) {
    const [name, type] = member;
    const size = member.length === 3 ? member[2] : TYPE_SIZES[member[1]];
    layout[name] = { offset, size, type };
    offset += size;
  }
  return layout;
})();

/** Bytes per record: the end of the last member. */
export const RECORD_SIZE = RECORD_LAYOUT.reserved.offset + RECORD_LAYOUT.reserved.size;

export const BackendId = { none: 0, fanotify: 1, audit: 2, ebpf: 3 } as const;

/** How `openFlags` was obtained (native FlagsSource). */
export const FlagsSource = {
  /** Could not be read; openFlags holds O_RDWR so both signatures fire. */
  unknown: 0,
  /** Read from /proc/<pid>/fdinfo/<fd> while the opener still held the fd. */
  fdinfo: 1,
  /** Inferred from later close events of the same file. */
  inferred: 2,
  /** Exact, from the syscall arguments (audit backend). */
  syscall: 3,
  /** Exact, the opened file's f_flags read in the kernel (eBPF backend). */
  kernel: 4,
} as const;
export type FlagsSourceValue = (typeof FlagsSource)[keyof typeof FlagsSource];

/** Bits of CaptureRecord.recordFlags (native RecordFlag). */
export const RecordFlag = {
  procfsMem: 1 << 0,
  threadMem: 1 << 1,
  pathTruncated: 1 << 2,
  openerExited: 1 << 3,
  attributionMissing: 1 << 4,
  targetExited: 1 << 5,
  selfTarget: 1 << 6,
  /** A mem file opened for writing whose target exited before it could be read: path unknown. */
  fileUnknown: 1 << 7,
  /** Opened by an io_uring IORING_OP_OPENAT/OPENAT2 request (eBPF backend). */
  ioUring: 1 << 8,
  /** Io summary: the backend counts calls, not bytes (ioBytesRead/Written are not known). */
  ioBytesUnknown: 1 << 9,
} as const;

/** What a record reports (native RecordKind). */
export const RecordKind = {
  /** An open of a procfs mem file. */
  open: 0,
  /** What the opener of an earlier open did with it (the io* fields). */
  ioSummary: 1,
} as const;

/** How a tracked open ended (native IoEnd), for io summaries. */
export const IoEndCode = {
  unknown: 0,
  closed: 1,
  replaced: 2,
  exited: 3,
  closeRange: 4,
  execed: 5,
  watcherStopped: 6,
} as const;

/** CaptureRecord.targetRelation (native TargetRelation). */
export const TargetRelationCode = {
  unknown: 0,
  self: 1,
  ancestor: 2,
  descendant: 3,
  unrelated: 4,
} as const;

/** CaptureRecord.guardAction (native GuardAction): what guard mode did to the opener. */
export const GuardActionCode = { none: 0, killed: 1, wouldKill: 2 } as const;

/** Bits of CaptureRecord.targetKnown (native TargetField): which target fields were read. */
export const TargetField = {
  comm: 1 << 0,
  exe: 1 << 1,
  uid: 1 << 2,
  containerId: 1 << 3,
  startTime: 1 << 4,
} as const;

export interface CaptureRecord {
  size: number;
  version: number;
  backend: number;
  flagsSource: FlagsSourceValue;
  timestampNs: bigint;
  monotonicNs: bigint;
  hostPid: number;
  hostTid: number;
  hostPpid: number;
  nsPid: number;
  nsTid: number;
  nsPpid: number;
  uid: number;
  gid: number;
  targetPid: number;
  targetTid: number;
  openFlags: number;
  mntNs: number;
  pidNs: number;
  recordFlags: number;
  dev: bigint;
  inode: bigint;
  ctimeNs: bigint;
  cgroupId: bigint;
  threadStartNs: bigint;
  returnValue: number;
  syscallNr: number;
  comm: string;
  containerId: string;
  pathname: string;
  syscallPathname: string;
  exe: string;
  /** CPU the open completed on (eBPF backend), else 0. */
  processorId: number;
  /** The target's real uid (valid when targetKnown has TargetField.uid). */
  targetUid: number;
  /** The target process's start, ns since boot (0: unknown). */
  targetStartNs: bigint;
  /** TargetRelationCode of the opener to the target. */
  targetRelation: number;
  /** TargetField bits. */
  targetKnown: number;
  targetComm: string;
  targetContainerId: string;
  targetExe: string;
  /** The opener's parent's executable ('' = unknown). */
  parentExe: string;
  /** GuardActionCode (eBPF backend in guard mode), else 0. */
  guardAction: number;
  /** RecordKind: an open, or an io summary of an earlier open. */
  recordKind: number;
  /** Io summaries: IoEndCode, how the tracked open ended. */
  ioEnd: number;
  /** Io summaries: the opener's fd, its read- and write-family calls and their byte sums. */
  ioFd: number;
  ioReads: bigint;
  ioWrites: bigint;
  ioBytesRead: bigint;
  ioBytesWritten: bigint;
  /** Io summaries: the open record's monotonicNs (the summary's own is the end). */
  ioOpenMonotonicNs: bigint;
}

const utf8 = new TextDecoder('utf-8');
const L = RECORD_LAYOUT;

function cString(view: DataView, offset: number, length: number): string {
  const bytes = new Uint8Array(view.buffer, view.byteOffset + offset, length);
  const end = bytes.indexOf(0);
  return utf8.decode(end < 0 ? bytes : bytes.subarray(0, end));
}

/** Decodes the record starting `offset` bytes into `view`. Throws on a size/version mismatch. */
export function decodeRecord(view: DataView, offset: number): CaptureRecord {
  const size = view.getUint32(offset + L.size.offset, true);
  const version = view.getUint16(offset + L.version.offset, true);
  if (size !== RECORD_SIZE || version !== RECORD_VERSION) {
    throw new Error(
      `capture record at ${offset}: size ${size} version ${version}, expected ${RECORD_SIZE} v${RECORD_VERSION} (addon and JS out of step: rebuild)`,
    );
  }
  const u8 = (f: { offset: number }) => view.getUint8(offset + f.offset);
  const i32 = (f: { offset: number }) => view.getInt32(offset + f.offset, true);
  const u32 = (f: { offset: number }) => view.getUint32(offset + f.offset, true);
  const u64 = (f: { offset: number }) => view.getBigUint64(offset + f.offset, true);
  const str = (f: { offset: number; size: number }) => cString(view, offset + f.offset, f.size);
  return {
    size,
    version,
    backend: u8(L.backend),
    flagsSource: u8(L.flagsSource) as FlagsSourceValue,
    timestampNs: u64(L.timestampNs),
    monotonicNs: u64(L.monotonicNs),
    hostPid: i32(L.hostPid),
    hostTid: i32(L.hostTid),
    hostPpid: i32(L.hostPpid),
    nsPid: i32(L.nsPid),
    nsTid: i32(L.nsTid),
    nsPpid: i32(L.nsPpid),
    uid: u32(L.uid),
    gid: u32(L.gid),
    targetPid: i32(L.targetPid),
    targetTid: i32(L.targetTid),
    openFlags: i32(L.openFlags),
    mntNs: u32(L.mntNs),
    pidNs: u32(L.pidNs),
    recordFlags: u32(L.recordFlags),
    dev: u64(L.dev),
    inode: u64(L.inode),
    ctimeNs: u64(L.ctimeNs),
    cgroupId: u64(L.cgroupId),
    threadStartNs: u64(L.threadStartNs),
    returnValue: i32(L.returnValue),
    syscallNr: u32(L.syscallNr),
    comm: str(L.comm),
    containerId: str(L.containerId),
    pathname: str(L.pathname),
    syscallPathname: str(L.syscallPathname),
    exe: str(L.exe),
    processorId: u32(L.processorId),
    targetUid: u32(L.targetUid),
    targetStartNs: u64(L.targetStartNs),
    targetRelation: u8(L.targetRelation),
    targetKnown: u8(L.targetKnown),
    targetComm: str(L.targetComm),
    targetContainerId: str(L.targetContainerId),
    targetExe: str(L.targetExe),
    parentExe: str(L.parentExe),
    guardAction: u8(L.guardAction),
    recordKind: u8(L.recordKind),
    ioEnd: u8(L.ioEnd),
    ioFd: u32(L.ioFd),
    ioReads: u64(L.ioReads),
    ioWrites: u64(L.ioWrites),
    ioBytesRead: u64(L.ioBytesRead),
    ioBytesWritten: u64(L.ioBytesWritten),
    ioOpenMonotonicNs: u64(L.ioOpenMonotonicNs),
  };
}
