// What native/ebpf/io_track.bpf.h sends through its own BPF ring buffer (io_events): the
// read/write summary of one tracked open of a procfs mem file, once its tracking ended
// (native/ebpf/io_tracker.cc turns it into a record). Shared by the BPF program
// (C, vmlinux.h types) and the loader (C++): fixed-width fields only, naturally aligned.
#pragma once

#ifndef __VMLINUX_H__
#include <linux/types.h>  // __u32, __u64, __s32 (vmlinux.h has them in the BPF build)
#endif

// Sizes of io_track.bpf.h's maps that user space relies on too (io_tracker.cc).
#define PMG_IO_MAX_TRACKED 4096  // entries of `tracked`
#define PMG_IO_TGID_SLOTS 1024   // io_tgid_slots: a power of two (a mask picks the slot)

// Slots of the per-CPU counters io_counters, summed by user space.
#define PMG_IO_COUNT_TRACKED 0    // opens tracked
#define PMG_IO_COUNT_UNTRACKED 1  // opens not tracked: the map was full
#define PMG_IO_COUNT_LOST 2       // summaries lost: io_events was full
#define PMG_IO_COUNTERS 3

// pmg_io_event.kind: how the tracking ended. The values are those of IoEnd (native/record.h),
// which the loader passes on as they are.
#define PMG_IO_CLOSED 1u  // close(2) of the tracked fd
// PMG_IO_REPLACED: the fd was found holding another file (dup2 over it) at its next read,
// write or tracked open.
#define PMG_IO_REPLACED 2u
#define PMG_IO_EXITED 3u       // the last thread of the opener exited
#define PMG_IO_CLOSE_RANGE 4u  // close_range(2) over the fd
#define PMG_IO_EXECED 5u       // the opener exec'd and the fd was close-on-exec

// One tracked open, the value of the BPF hash map `tracked` (key: struct pmg_io_key).
struct pmg_io_key {
  __u32 tgid;
  __u32 fd;
};

// What the opener did with one tracked fd.
struct pmg_io_counts {
  __u64 reads, writes;              // read- and write-family calls on the fd (failed ones included)
  __u64 bytes_read, bytes_written;  // sums of their positive return values
};

struct pmg_io_track {
  __u64 open_ns;  // bpf_ktime_get_ns() of the open: the open event's timestamp_ns
  __u64 file;     // the struct file's address: tells the tracked file from a later one at fd
  struct pmg_io_counts counts;
  __u32 tid;  // the thread that opened
  __s32 target_pid, target_tid;
  __u32 pad;
};

// The summary of one tracked open whose tracking ended: its key and entry as they were
// (track.file is not sent: 0).
struct pmg_io_event {
  __u64 time_ns;  // bpf_ktime_get_ns() when the tracking ended
  __u32 kind;     // PMG_IO_*
  __u32 pad;
  struct pmg_io_key key;  // the opener's tgid and the tracked fd
  struct pmg_io_track track;
};
