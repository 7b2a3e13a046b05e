// Decodes one CaptureRecord (native/record.h) from the shared ring. Offsets mirror the C++
// struct exactly; change both together and bump RECORD_VERSION.

export const RECORD_SIZE = 1024;
export const RECORD_VERSION = 2;

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
}

const utf8 = new TextDecoder('utf-8');

function cString(view: DataView, offset: number, length: number): string {
  const bytes = new Uint8Array(view.buffer, view.byteOffset + offset, length);
  const end = bytes.indexOf(0);
  return utf8.decode(end < 0 ? bytes : bytes.subarray(0, end));
}

/** Decodes the record starting `offset` bytes into `view`. Throws on a size/version mismatch. */
export function decodeRecord(view: DataView, offset: number): CaptureRecord {
  const size = view.getUint32(offset, true);
  const version = view.getUint16(offset + 4, true);
  if (size !== RECORD_SIZE || version !== RECORD_VERSION) {
    throw new Error(
      `capture record at ${offset}: size ${size} version ${version}, expected ${RECORD_SIZE} v${RECORD_VERSION} (addon and JS out of step: rebuild)`,
    );
  }
  const i32 = (o: number) => view.getInt32(offset + o, true);
  const u32 = (o: number) => view.getUint32(offset + o, true);
  const u64 = (o: number) => view.getBigUint64(offset + o, true);
  return {
    size,
    version,
    backend: view.getUint8(offset + 6),
    flagsSource: view.getUint8(offset + 7) as FlagsSourceValue,
    timestampNs: u64(8),
    monotonicNs: u64(16),
    hostPid: i32(24),
    hostTid: i32(28),
    hostPpid: i32(32),
    nsPid: i32(36),
    nsTid: i32(40),
    nsPpid: i32(44),
    uid: u32(48),
    gid: u32(52),
    targetPid: i32(56),
    targetTid: i32(60),
    openFlags: i32(64),
    mntNs: u32(68),
    pidNs: u32(72),
    recordFlags: u32(76),
    dev: u64(80),
    inode: u64(88),
    ctimeNs: u64(96),
    cgroupId: u64(104),
    threadStartNs: u64(112),
    returnValue: i32(120),
    syscallNr: u32(124),
    comm: cString(view, offset + 128, 16),
    containerId: cString(view, offset + 144, 72),
    pathname: cString(view, offset + 216, 256),
    syscallPathname: cString(view, offset + 472, 256),
    exe: cString(view, offset + 728, 256),
    processorId: u32(984),
  };
}
