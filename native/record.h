// One captured open of a procfs mem file, as it crosses the ring buffer to JavaScript.
// Fixed size and layout: src/capture/record.ts mirrors every offset. Change both together
// and bump kRecordVersion. The addon exports the offsets and sizes (recordLayout(),
// native/record_layout.cc) and test/capture/layout.test.ts checks record.ts against them.
#pragma once

#include <cstddef>
#include <cstdint>

namespace pmg {

constexpr uint16_t kRecordVersion = 4;
constexpr size_t kRecordSize = 2048;

enum class BackendId : uint8_t { kNone = 0, kFanotify = 1, kAudit = 2, kEbpf = 3 };

// How `open_flags` was obtained.
enum class FlagsSource : uint8_t {
  kUnknown = 0,   // could not be read; open_flags holds O_RDWR so both signatures fire
  kFdinfo = 1,    // read from /proc/<pid>/fdinfo/<fd> while the opener still held the fd
  kInferred = 2,  // inferred from later FAN_ACCESS / FAN_MODIFY / FAN_CLOSE_* of the same file
  kSyscall = 3,   // exact: from the syscall arguments (audit backend)
  kKernel = 4,    // exact: the opened file's f_flags, read in the kernel (eBPF backend)
};

// Bits of CaptureRecord::record_flags.
enum RecordFlag : uint32_t {
  kProcfsMem = 1u << 0,           // the file is a procfs mem file (decided by filesystem + inode)
  kThreadMem = 1u << 1,           // it was /proc/<pid>/task/<tid>/mem
  kPathTruncated = 1u << 2,       // a string field did not fit and was cut
  kOpenerExited = 1u << 3,        // opener was gone when read; attribution came from the table
  kAttributionMissing = 1u << 4,  // no attribution could be found for the opener
  kTargetExited = 1u << 5,        // target process was gone when the event was read
  kSelfTarget = 1u << 6,          // opener read its own memory (/proc/self/mem)
  // The kernel could not reopen the file for the watcher because its process had exited
  // (fanotify fd = -ESRCH) and the opener no longer held it: the path and target are unknown
  // (pathname empty, target_pid 0). Set with kProcfsMem when the event said the file was
  // opened for writing, which among the files that fail this way only mem allows. (Read-only
  // ones are not reported: maps, smaps, environ... fail the same way when ps or top race an
  // exiting process; they are counted in the fanotify stat exited_target_unknown.)
  kFileUnknown = 1u << 7,
  kIoUring = 1u << 8,  // opened by an io_uring IORING_OP_OPENAT/OPENAT2 request (eBPF backend)
  kIoBytesUnknown = 1u << 9,  // io summary: the backend counts calls, not bytes (fanotify)
};

// What a record reports (CaptureRecord::record_kind).
enum class RecordKind : uint8_t {
  kOpen = 0,       // an open of a procfs mem file
  kIoSummary = 1,  // what the opener of an earlier open did with it (io_* fields)
};

// How a tracked open ended (CaptureRecord::io_end, io summaries only).
enum class IoEnd : uint8_t {
  kUnknown = 0,
  kClosed = 1,          // close(2) of the fd
  kReplaced = 2,        // the fd was found holding another file (dup2 over it)
  kExited = 3,          // the opener exited
  kCloseRange = 4,      // close_range(2) over the fd
  kExeced = 5,          // the opener exec'd and the fd was close-on-exec
  kWatcherStopped = 6,  // still open when capture stopped: the counts so far
};

// How the opener is related to the target (CaptureRecord::target_relation).
enum class TargetRelation : uint8_t {
  kUnknown = 0,     // a parent chain could not be followed to its end (see target_info.h)
  kSelf = 1,        // the same thread group
  kAncestor = 2,    // the opener started the target, directly or through its descendants
  kDescendant = 3,  // the target started the opener, directly or not
  kUnrelated = 4,   // neither: both chains were followed to their roots
};

// What guard mode did to the opener (CaptureRecord::guard_action; eBPF backend only).
enum class GuardAction : uint8_t {
  kNone = 0,
  kKilled = 1,     // SIGKILL sent at the completion of the open (--enforce)
  kWouldKill = 2,  // the dry run's verdict (--enforce=dry-run): nothing was sent
};

// Bits of CaptureRecord::target_known: which target fields were read. A field whose bit is
// clear could not be read and is absent from the event, never guessed.
enum TargetField : uint8_t {
  kTargetComm = 1u << 0,
  kTargetExe = 1u << 1,
  kTargetUid = 1u << 2,
  kTargetContainer = 1u << 3,  // target_container_id was read ("" = not in a container)
  kTargetStart = 1u << 4,
};

#pragma pack(push, 1)
struct CaptureRecord {
  uint32_t size;               // 0   = kRecordSize
  uint16_t version;            // 4   = kRecordVersion
  uint8_t backend;             // 6   BackendId
  uint8_t flags_source;        // 7   FlagsSource
  uint64_t timestamp_ns;       // 8   CLOCK_REALTIME ns when the event was read from the kernel
  uint64_t monotonic_ns;       // 16  CLOCK_MONOTONIC ns, same moment (latency measurement)
  int32_t host_pid;            // 24  opener thread-group id, host pid namespace
  int32_t host_tid;            // 28  opener thread id, host pid namespace
  int32_t host_ppid;           // 32
  int32_t ns_pid;              // 36  same three, in the opener's own pid namespace
  int32_t ns_tid;              // 40
  int32_t ns_ppid;             // 44
  uint32_t uid;                // 48
  uint32_t gid;                // 52
  int32_t target_pid;          // 56  host pid of the process whose memory is opened
  int32_t target_tid;          // 60  host tid for task/<tid>/mem, else = target_pid
  int32_t open_flags;          // 64  the opener's open(2) flags
  uint32_t mnt_ns;             // 68  opener's mount namespace inode
  uint32_t pid_ns;             // 72  opener's pid namespace inode
  uint32_t record_flags;       // 76  RecordFlag bits
  uint64_t dev;                // 80  st_dev of the opened file (procfs superblock)
  uint64_t inode;              // 88
  uint64_t ctime_ns;           // 96  file ctime, ns since epoch
  uint64_t cgroup_id;          // 104 opener's cgroup v2 id (inode of its cgroup directory)
  uint64_t thread_start_ns;    // 112 opener thread start, ns since boot
  int32_t return_value;        // 120 syscall return value (fd) where known, else 0
  uint32_t syscall_nr;         // 124 open=2 openat=257 openat2=437 (x86-64) where known, else 0
  char comm[16];               // 128 NUL-terminated
  char container_id[72];       // 144 64-hex container id, or empty
  char pathname[256];          // 216 path as the opener's mount namespace sees it
  char syscall_pathname[256];  // 472 path as passed to open (audit), else = pathname
  char exe[256];               // 728 opener's executable
  uint32_t processor_id;       // 984 CPU the open completed on (eBPF backend), else 0
  // The process whose memory is opened (thread group target_pid), read on the capture thread
  // when the record is built (native/proc/target_info.h).
  uint32_t target_uid;           // 988  real uid
  uint64_t target_start_ns;      // 992  process start, ns since boot
  uint8_t target_relation;       // 1000 TargetRelation of the opener to the target
  uint8_t target_known;          // 1001 TargetField bits
  uint16_t target_reserved;      // 1002
  char target_comm[16];          // 1004
  char target_container_id[72];  // 1020
  char target_exe[256];          // 1092
  char parent_exe[256];          // 1348 the opener's parent's executable ("" = unknown)
  uint8_t guard_action;          // 1604 GuardAction: what guard mode did to the opener
  uint8_t guard_reserved[7];     // 1605
  // Io summaries (record_kind kIoSummary): the opener, target and path are the open's.
  uint8_t record_kind;            // 1612 RecordKind
  uint8_t io_end;                 // 1613 IoEnd
  uint8_t io_reserved[2];         // 1614
  uint32_t io_fd;                 // 1616 the opener's fd
  uint32_t io_pad;                // 1620
  uint64_t io_reads;              // 1624 read-family calls on the fd (failed ones included)
  uint64_t io_writes;             // 1632 write-family calls
  uint64_t io_bytes_read;         // 1640 sum of their positive returns
  uint64_t io_bytes_written;      // 1648
  uint64_t io_open_monotonic_ns;  // 1656 the open record's monotonic_ns: ties the two
  uint8_t reserved[384];          // 1664
};
#pragma pack(pop)

static_assert(sizeof(CaptureRecord) == kRecordSize, "CaptureRecord layout changed");
static_assert(offsetof(CaptureRecord, comm) == 128, "layout");
static_assert(offsetof(CaptureRecord, pathname) == 216, "layout");
static_assert(offsetof(CaptureRecord, exe) == 728, "layout");
static_assert(offsetof(CaptureRecord, processor_id) == 984, "layout");
static_assert(offsetof(CaptureRecord, target_start_ns) % 8 == 0, "layout");
static_assert(offsetof(CaptureRecord, guard_action) == 1604, "layout");
static_assert(offsetof(CaptureRecord, record_kind) == 1612, "layout");
static_assert(offsetof(CaptureRecord, io_reads) == 1624, "layout");
static_assert(offsetof(CaptureRecord, reserved) == 1664, "layout");

// Causes of loss; each has a cumulative counter in the ring header (slot = value).
enum class LossCause : uint32_t {
  kRingFull = 0,         // the ring had no room: JavaScript fell behind
  kKernelOverflow = 1,   // FAN_Q_OVERFLOW: the kernel dropped queued events (count unknown: 1)
  kUnreadableEvent = 2,  // an event that could not be read or decoded
  kAuditLost = 3,        // audit status 'lost' counter grew
  kAuditIncomplete = 4,  // an audit event whose records never completed in time
  kFolded = 5,           // a mem open over its uid's budget (FloodGuard): counted, not reported
  kBpfRingFull = 6,      // the eBPF backend's BPF ring buffer was full (bpf_ringbuf_reserve failed)
  // An io summary that will not come: the eBPF tracking map was full at the open, or its
  // io_events ring buffer was full at the close or exit.
  kIoSummaryLost = 7,
  kCount = 8,
};

}  // namespace pmg
