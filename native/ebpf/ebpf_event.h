// What native/ebpf/procmem.bpf.c sends through its BPF ring buffer for one open of a procfs
// mem file. Shared by the BPF program (C, vmlinux.h types) and the loader (C++): fixed-width
// fields only, naturally aligned.
#pragma once

#ifndef __VMLINUX_H__
#include <linux/types.h>  // __u32, __u64, __s32 (vmlinux.h has them in the BPF build)
#endif

#define PMG_BPF_THREAD_MEM 1u  // <pid>/task/<tid>/mem
#define PMG_BPF_IO_URING 2u    // opened by an io_uring IORING_OP_OPENAT/OPENAT2 request
#define PMG_BPF_KILLED 4u      // guard mode killed the opener (bpf_send_signal SIGKILL)
#define PMG_BPF_WOULD_KILL 8u  // guard mode's dry run: it would have killed the opener

struct pmg_bpf_event {
  __u64 timestamp_ns;     // bpf_ktime_get_ns(): CLOCK_MONOTONIC at the open's completion
  __u64 cgroup_id;        // bpf_get_current_cgroup_id()
  __u64 thread_start_ns;  // task->start_time (monotonic ns)
  __u64 inode;            // i_ino
  __u64 ctime_ns;         // inode ctime
  __u32 s_dev;            // kernel dev_t of the procfs superblock (major << 20 | minor)
  __u32 host_pid, host_tid, host_ppid;
  __u32 ns_tid;  // opener thread id in its own pid namespace
  __u32 uid, gid;
  __u32 mnt_ns, pid_ns;
  __u32 f_flags;  // file->f_flags: the open flags as the kernel kept them
  __u32 fd;
  __u32 syscall_nr;
  __u32 cpu;
  __u32 flags;  // PMG_BPF_*
  __s32 target_pid, target_tid;
  char comm[16];
  char pid_name[12];  // the dentry names inside the procfs: <pid_name>/mem or
  char tid_name[12];  // <pid_name>/task/<tid_name>/mem (pid namespace of that procfs)
};
