// What native/ebpf/io_track.bpf.h sends through its own BPF ring buffer (io_events): the
// read/write summary of one tracked open of a procfs mem file, or a notice that asks user space
// to summarize a process's tracked opens (native/ebpf/io_tracker.cc). Shared by the BPF program
// (C, vmlinux.h types) and the loader (C++): fixed-width fields only, naturally aligned.
#pragma once

#ifndef __VMLINUX_H__
#include <linux/types.h>  // __u32, __u64, __s32 (vmlinux.h has them in the BPF build)
#endif

// pmg_io_event.kind. Summaries (the tracked entry is gone):
#define PMG_IO_CLOSED 1u  // close(2) of the tracked fd
#define PMG_IO_REPLACED \
  2u  // the fd now holds another file: the tracked one was closed without
      // close(2) (dup2 over it, close-on-exec) and seen at the next use
// Notices (user space walks the tracked map for the tgid, native/ebpf/io_tracker.cc):
#define PMG_IO_EXITED 3u       // the last thread of tgid exited: its files are closed
#define PMG_IO_CLOSE_RANGE 4u  // close_range(fd, fd_last, 0) by tgid
#define PMG_IO_EXECED 5u       // tgid exec'd: its close-on-exec fds are closed

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

struct pmg_io_event {
  __u64 time_ns;  // bpf_ktime_get_ns() of the close, exit, exec or close_range
  __u64 open_ns;
  struct pmg_io_counts counts;  // summaries
  __u32 kind;                   // PMG_IO_*
  __u32 tgid, tid;
  __u32 fd;       // summaries: the tracked fd; PMG_IO_CLOSE_RANGE: the first fd closed
  __u32 fd_last;  // PMG_IO_CLOSE_RANGE: the last fd closed
  __s32 target_pid, target_tid;
  __u32 pad;
};
