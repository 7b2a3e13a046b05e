// The kernel half of the eBPF backend (docs/ebpf-capture.md). CO-RE: compiled once with
// clang -target bpf against the vmlinux.h that the build generates from
// /sys/kernel/btf/vmlinux, relocated by libbpf against the running kernel's BTF at load.
//
// Programs, each filtering in the kernel so that only opens of procfs mem files reach
// user space:
//   - tp/syscalls/sys_exit_open, sys_exit_openat, sys_exit_openat2 (attached first) or
//     tp_btf/sys_exit (where those do not attach): the open-family syscalls that returned an
//     fd; the fd is looked up in current->files.
//   - tp_btf/io_uring_complete: completions of IORING_OP_OPENAT / IORING_OP_OPENAT2 that
//     installed a normal fd (not a fixed-file slot).
// A file passes when its superblock is procfs (s_magic PROC_SUPER_MAGIC), its dentry is named
// "mem", and it sits at <pid>/mem or <pid>/task/<tid>/mem of that procfs (any instance).
// The event layout (struct pmg_bpf_event) is mirrored in ebpf_event.h.
// vmlinux.h defines the kernel types the libbpf headers use: it must come first.
// clang-format off
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "ebpf_event.h"
#include "io_track.bpf.h"
// clang-format on

char LICENSE[] SEC("license") = "GPL";

#define PROC_SUPER_MAGIC 0x9fa0
#define NR_OPEN 2
#define NR_OPENAT 257
#define NR_OPENAT2 437
#define NR_IO_URING_ENTER 426
#define IOURING_OPENAT 18
#define IOURING_OPENAT2 28

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 256 * 1024);
} events SEC(".maps");

// [0]: bpf_ringbuf_reserve failures (the ring buffer was full): events lost in the kernel.
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} drops SEC(".maps");

// Set by user space before load: the loader's own tgid, whose opens are not reported.
const volatile __u32 self_tgid = 0;

// Kernels before 6.6 had inode->i_ctime, 6.6 to 6.10 inode->__i_ctime; later ones split it.
struct inode___pre66 {
  struct timespec64 i_ctime;
} __attribute__((preserve_access_index));
struct inode___pre611 {
  struct timespec64 __i_ctime;
} __attribute__((preserve_access_index));

static __always_inline __u64 inode_ctime_ns(struct inode *ino) {
  if (bpf_core_field_exists(ino->i_ctime_sec))
    return BPF_CORE_READ(ino, i_ctime_sec) * 1000000000ull + BPF_CORE_READ(ino, i_ctime_nsec);
  struct inode___pre611 *v2 = (void *)ino;
  if (bpf_core_field_exists(v2->__i_ctime))
    return BPF_CORE_READ(v2, __i_ctime.tv_sec) * 1000000000ull +
           BPF_CORE_READ(v2, __i_ctime.tv_nsec);
  struct inode___pre66 *v1 = (void *)ino;
  if (bpf_core_field_exists(v1->i_ctime))
    return BPF_CORE_READ(v1, i_ctime.tv_sec) * 1000000000ull + BPF_CORE_READ(v1, i_ctime.tv_nsec);
  return 0;
}

// True if the dentry's name is exactly `want` (len bytes, len <= 7).
static __always_inline bool name_is(struct dentry *d, const char *want, __u32 len) {
  if (BPF_CORE_READ(d, d_name.len) != len) return false;
  char buf[8] = {};
  const unsigned char *name = BPF_CORE_READ(d, d_name.name);
  if (bpf_probe_read_kernel(buf, len, name) != 0) return false;
  for (__u32 i = 0; i < len; i++)
    if (buf[i] != want[i]) return false;
  return true;
}

// Host (init pid namespace) number of the struct pid a procfs inode belongs to, or 0.
static __always_inline __s32 proc_inode_host_pid(struct inode *ino) {
  if (!ino) return 0;
  struct proc_inode *pi =
      (void *)((char *)ino - bpf_core_field_offset(struct proc_inode, vfs_inode));
  struct pid *pid = BPF_CORE_READ(pi, pid);
  if (!pid) return 0;
  return BPF_CORE_READ(pid, numbers[0].nr);
}

// A scalar kernel address as a read-only BTF pointer (kfunc, Linux 6.2+): fields read through
// it are direct loads that the kernel makes fault-tolerant, not bpf_probe_read_kernel() calls.
// Every successful open on the host runs the tests below; each helper call they avoid is a
// measurable part of the host's procfs open cost (bench/storm.mjs, docs/ebpf-capture.md).
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;

#include "guard.bpf.h"

static __always_inline int report(struct file *fp, __u32 fd, __u32 syscall_nr, __u32 flags) {
  if (!fp) return 0;
  struct file *f = bpf_rdonly_cast(fp, bpf_core_type_id_kernel(struct file));
  struct inode *ino = f->f_inode;
  if (!ino) return 0;
  struct super_block *sb = ino->i_sb;
  if (!sb || sb->s_magic != PROC_SUPER_MAGIC) return 0;
  struct dentry *d = f->f_path.dentry;
  if (!d || d->d_name.len != 3) return 0;  // not "mem": most procfs opens end here
  // From here on (procfs files named with three letters) cost does not matter.
  if (!name_is(d, "mem", 3)) return 0;
  // <pid>/mem: the parent is the pid directory, whose parent is the procfs root.
  // <pid>/task/<tid>/mem: the parent is the tid directory, then "task", then the pid directory.
  struct dentry *parent = BPF_CORE_READ(d, d_parent);
  struct dentry *grand = BPF_CORE_READ(parent, d_parent);
  struct dentry *root = BPF_CORE_READ(sb, s_root);
  struct dentry *pid_dir;
  bool thread = false;
  if (grand == root) {
    pid_dir = parent;
  } else if (name_is(grand, "task", 4) && BPF_CORE_READ(grand, d_parent, d_parent) == root) {
    pid_dir = BPF_CORE_READ(grand, d_parent);
    thread = true;
  } else {
    return 0;  // a file named mem elsewhere in procfs (none today): not a process's memory
  }

  __u64 pid_tgid = bpf_get_current_pid_tgid();
  __u32 tgid = pid_tgid >> 32;
  if (tgid == self_tgid) return 0;
  flags |= pmg_guard(f, pid_dir, tgid);  // guard mode: may kill the opener; before the reserve

  struct pmg_bpf_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
  if (!e) {
    __u32 key = 0;
    __u64 *n = bpf_map_lookup_elem(&drops, &key);
    if (n) *n += 1;
    return 0;
  }
  struct task_struct *task = bpf_get_current_task_btf();
  e->timestamp_ns = bpf_ktime_get_ns();
  e->host_pid = tgid;
  e->host_tid = (__u32)pid_tgid;
  e->host_ppid = BPF_CORE_READ(task, real_parent, tgid);
  __u64 ugid = bpf_get_current_uid_gid();
  e->uid = (__u32)ugid;
  e->gid = ugid >> 32;
  e->cgroup_id = bpf_get_current_cgroup_id();
  e->mnt_ns = BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
  struct pid *tp = BPF_CORE_READ(task, thread_pid);
  unsigned int level = BPF_CORE_READ(tp, level);
  struct upid up = {};
  if (level < 32) bpf_probe_read_kernel(&up, sizeof(up), &tp->numbers[level]);
  e->pid_ns = BPF_CORE_READ(up.ns, ns.inum);
  e->ns_tid = up.nr;
  e->thread_start_ns = BPF_CORE_READ(task, start_time);
  e->f_flags = BPF_CORE_READ(f, f_flags);
  e->fd = fd;
  e->syscall_nr = syscall_nr;
  e->cpu = bpf_get_smp_processor_id();
  e->flags = flags | (thread ? PMG_BPF_THREAD_MEM : 0);
  e->s_dev = BPF_CORE_READ(sb, s_dev);
  e->inode = BPF_CORE_READ(ino, i_ino);
  e->ctime_ns = inode_ctime_ns(ino);
  e->target_tid = proc_inode_host_pid(ino);
  e->target_pid = thread ? proc_inode_host_pid(BPF_CORE_READ(pid_dir, d_inode)) : e->target_tid;
  bpf_get_current_comm(e->comm, sizeof(e->comm));
  bpf_probe_read_kernel_str(e->pid_name, sizeof(e->pid_name), BPF_CORE_READ(pid_dir, d_name.name));
  if (thread)
    bpf_probe_read_kernel_str(e->tid_name, sizeof(e->tid_name), BPF_CORE_READ(parent, d_name.name));
  else
    e->tid_name[0] = 0;
  io_track_open(e, fp);  // reads e: before the submit
  bpf_ringbuf_submit(e, 0);
  return 0;
}

// The struct file that fd `fd` of the current task refers to, or NULL.
// task is a BTF pointer: its fields are direct (fault-tolerant) loads, not helper calls; this
// runs for every successful open on the host. The fd array element needs the helper.
static __always_inline struct file *current_fd_file(long fd) {
  struct task_struct *task = bpf_get_current_task_btf();
  struct files_struct *files = task->files;
  if (!files) return NULL;
  struct fdtable *fdt = files->fdt;
  if (!fdt || fd < 0 || fd >= fdt->max_fds) return NULL;
  struct file **fds = fdt->fd;
  struct file *f = NULL;
  if (bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]) != 0) return NULL;
  return f;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(pmg_sys_exit, struct pt_regs *regs, long ret) {
  // This runs at every syscall exit on the host: the two tests below are all most of them
  // pay. regs is a BTF pointer here, so orig_ax is a direct (CO-RE relocated) load, not a
  // bpf_probe_read_kernel() helper call.
  long nr = regs->orig_ax;
  if (nr != NR_OPENAT && nr != NR_OPEN && nr != NR_OPENAT2) return 0;
  if (ret < 0) return 0;
  return report(current_fd_file(ret), (__u32)ret, (__u32)nr, 0);
}

// The same through the per-syscall tracepoints (syscalls:sys_exit_open*). The kernel tests a
// bitmap of enabled syscalls before running a program, so the other syscalls of the host pay
// no BPF invocation: cheaper for the host than tp_btf/sys_exit, which runs for every syscall.
// The loader attaches these when they load, else pmg_sys_exit. Their context, struct
// syscall_exit_args, is io_track.bpf.h's.

static __always_inline int on_open_exit(struct syscall_exit_args *ctx, __u32 nr) {
  long ret = ctx->ret;
  if (ret < 0) return 0;
  return report(current_fd_file(ret), (__u32)ret, nr, 0);
}

SEC("tp/syscalls/sys_exit_openat")
int pmg_exit_openat(struct syscall_exit_args *ctx) { return on_open_exit(ctx, NR_OPENAT); }

SEC("tp/syscalls/sys_exit_open")
int pmg_exit_open(struct syscall_exit_args *ctx) { return on_open_exit(ctx, NR_OPEN); }

SEC("tp/syscalls/sys_exit_openat2")
int pmg_exit_openat2(struct syscall_exit_args *ctx) { return on_open_exit(ctx, NR_OPENAT2); }

SEC("tp_btf/io_uring_complete")
int BPF_PROG(pmg_io_uring_complete, struct io_ring_ctx *ring, void *req, struct io_uring_cqe *cqe) {
  if (!req || !cqe) return 0;
  struct io_kiocb *kreq = req;
  __u8 op = BPF_CORE_READ(kreq, opcode);
  __s32 res = BPF_CORE_READ(cqe, res);
  if (op != IOURING_OPENAT && op != IOURING_OPENAT2) return io_uring_done(kreq, op, res);
  if (res < 0) return 0;
  struct io_open *open = (void *)&kreq->cmd;
  if (BPF_CORE_READ(open, file_slot) != 0) return 0;  // fixed-file slot: no fd to look up
  return report(current_fd_file(res), (__u32)res, NR_IO_URING_ENTER, PMG_BPF_IO_URING);
}
