// Observed access (docs/ebpf-capture.md "Observed access"): what the opener of a reported mem
// file did with it. Included by procmem.bpf.c, whose report() calls io_track_open() for every
// open it sends. Each tracked open is an entry of the hash map `tracked`, keyed by the opener's
// tgid and fd; the exits of the read and write families add to it; the exit of close(2) of the
// fd sends its summary through the ring buffer io_events and forgets it. An exit, an exec or a
// close_range() ends the entries it closed at once, in the kernel (bpf_for_each_map_elem over
// `tracked`), before the process can reuse their fd numbers.
//
// Cost: every read- and write-family syscall of the host pays the kernel's dispatch of a BPF
// program at its syscall tracepoint (80 to 100 ns on the bench VM), tracked or not: that is why
// tracking is opt-in (observeIo). While nothing is tracked the programs return after one load
// of io_tracked_count; while something is, a process with nothing tracked returns after one
// more load (io_tgid_slots). Only tracked processes pay a hash lookup per call. Every program
// runs at a syscall exit, none at an entry: an entry program would make every syscall of the
// host run the entry-side dispatch too (bench/io-track.mjs, docs/ebpf-capture.md).
//
// io_uring reads, writes and closes are counted from the io_uring completion program the
// backend attaches anyway. Not tracked: fds the opener duplicated (dup, dup2, dup3, fcntl
// F_DUPFD) or passed on (fork, SCM_RIGHTS).
#pragma once

#include "io_event.h"

#define PMG_CLOSE_RANGE_CLOEXEC (1u << 2)
#define PMG_EBADF 9

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 64 * 1024);
} io_events SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, PMG_IO_MAX_TRACKED);
  __type(key, struct pmg_io_key);
  __type(value, struct pmg_io_track);
} tracked SEC(".maps");

// The tracked entries' keys by their struct file's address: an io_uring request names its
// file, not an fd.
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, PMG_IO_MAX_TRACKED);
  __type(key, __u64);
  __type(value, struct pmg_io_key);
} tracked_files SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, PMG_IO_COUNTERS);
  __type(key, __u32);
  __type(value, __u64);
} io_counters SEC(".maps");

// Set by user space once the io programs are attached: before that (or if they cannot attach)
// nothing is tracked, so no entry waits for a close that no program would see.
__u32 io_tracking_on = 0;
// Entries in `tracked` now (user space decrements it for the entries it deletes). The read and
// write programs return at once while it is 0.
__u64 io_tracked_count = 0;
// Entries in `tracked` by tgid modulo PMG_IO_TGID_SLOTS: while something is tracked, a read by
// a process in an empty slot (nearly all of them) returns after this load, without the hash
// lookup. User space decrements it too for the entries it deletes.
__u32 io_tgid_slots[PMG_IO_TGID_SLOTS] = {};

// The io_tgid_slots counter of `tgid`.
static __always_inline __u32 *io_slot(__u32 tgid) {
  return &io_tgid_slots[tgid & (PMG_IO_TGID_SLOTS - 1)];
}

// Whether `tgid` may have a tracked fd: false for certain, true maybe.
static __always_inline bool io_maybe_tracked(__u32 tgid) {
  return io_tracked_count != 0 && *io_slot(tgid) != 0;
}

// io_maybe_tracked() for the current process, whose tgid it sets: what every read, write and
// close on the host pays (one load while nothing is tracked, one more while something is).
static __always_inline bool io_current_maybe_tracked(__u32 *tgid) {
  if (io_tracked_count == 0) return false;
  *tgid = bpf_get_current_pid_tgid() >> 32;
  return io_maybe_tracked(*tgid);
}

// Defined in procmem.bpf.c.
static __always_inline struct file *current_fd_file(long fd);

static __always_inline void io_count(__u32 slot) {
  __u64 *n = bpf_map_lookup_elem(&io_counters, &slot);
  if (n) *n += 1;
}

// Sends the summary of tracked entry `v` of `k`, ended as `kind` (PMG_IO_*).
static __always_inline void io_send(__u32 kind, const struct pmg_io_key *k,
                                    const struct pmg_io_track *v) {
  struct pmg_io_event *e = bpf_ringbuf_reserve(&io_events, sizeof(*e), 0);
  if (!e) {
    io_count(PMG_IO_COUNT_LOST);
    return;
  }
  e->time_ns = bpf_ktime_get_ns();
  e->kind = kind;
  e->pad = 0;
  e->key = *k;
  e->track = *v;
  e->track.file = 0;  // a kernel address user space has no use for
  bpf_ringbuf_submit(e, 0);
}

// Ends the tracking of `key` (entry `v`) as `kind`: deletes the entry and, if this program is
// the one that deleted it (user space does too, at its stop), sends its summary. Both are
// copied first: a deleted element may be reused at once.
static __always_inline void io_end(const struct pmg_io_key *key, const struct pmg_io_track *v,
                                   __u32 kind) {
  struct pmg_io_key k = *key;
  struct pmg_io_track copy = *v;
  if (bpf_map_delete_elem(&tracked, &k) != 0) return;
  struct pmg_io_key *by_file = bpf_map_lookup_elem(&tracked_files, &copy.file);
  if (by_file && by_file->tgid == k.tgid && by_file->fd == k.fd)
    bpf_map_delete_elem(&tracked_files, &copy.file);
  __sync_fetch_and_add(io_slot(k.tgid), -1);
  __sync_fetch_and_add(&io_tracked_count, -1);
  io_send(kind, &k, &copy);
}

// What io_end_all() ends: the entries of tgid with fds in [fd_first, fd_last] whose fd no
// longer holds their file, or all of them (PMG_IO_EXITED).
struct io_walk {
  __u32 tgid, kind, fd_first, fd_last;
};

static long io_walk_one(struct bpf_map *map, struct pmg_io_key *k, struct pmg_io_track *v,
                        struct io_walk *w) {
  if (k->tgid != w->tgid || k->fd < w->fd_first || k->fd > w->fd_last) return 0;
  if (w->kind != PMG_IO_EXITED && (__u64)current_fd_file(k->fd) == v->file) return 0;
  io_end(k, v, w->kind);
  return 0;
}

// Ends, in the kernel and at once, the tracked opens that an exit, exec or close_range()
// closed without close(2): before the process can reuse the fds. Walks the whole map (at most
// PMG_IO_MAX_TRACKED entries), which only a process that may track something pays.
static __always_inline void io_end_all(__u32 tgid, __u32 kind, __u32 fd_first, __u32 fd_last) {
  struct io_walk w = {.tgid = tgid, .kind = kind, .fd_first = fd_first, .fd_last = fd_last};
  bpf_for_each_map_elem(&tracked, io_walk_one, &w, 0);
}

// Called by report() for an open it sends: starts tracking fd `e->fd` of the opener (`fp` is
// the file at that fd). A stale entry at the same key (its file closed without close(2)) is
// summarized first.
static __always_inline void io_track_open(const struct pmg_bpf_event *e, struct file *fp) {
  if (!io_tracking_on) return;
  struct pmg_io_key k = {.tgid = e->host_pid, .fd = e->fd};
  struct pmg_io_track *old = bpf_map_lookup_elem(&tracked, &k);
  if (old) io_end(&k, old, PMG_IO_REPLACED);
  struct pmg_io_track v = {};
  v.open_ns = e->timestamp_ns;
  v.file = (__u64)fp;
  v.tid = e->host_tid;
  v.target_pid = e->target_pid;
  v.target_tid = e->target_tid;
  if (bpf_map_update_elem(&tracked, &k, &v, BPF_NOEXIST) != 0) {
    io_count(PMG_IO_COUNT_UNTRACKED);
    return;
  }
  // Cannot fail for want of room (as many entries as `tracked`); if it did, only io_uring
  // requests on the file would go uncounted.
  bpf_map_update_elem(&tracked_files, &v.file, &k, BPF_ANY);
  __sync_fetch_and_add(io_slot(k.tgid), 1);
  __sync_fetch_and_add(&io_tracked_count, 1);
  io_count(PMG_IO_COUNT_TRACKED);
}

// The per-syscall exit tracepoints' context (syscalls:sys_exit_*), procmem.bpf.c's open
// programs' too.
struct syscall_exit_args {
  __u64 common;
  long nr;
  long ret;
};

// The exit tracepoints have no arguments: the syscall's arguments are in the user registers
// saved at entry.
static __always_inline struct pt_regs *io_syscall_regs(void) {
  return (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
}

// The key of the fd that is the current syscall's first argument.
static __always_inline struct pmg_io_key io_fd_arg_key(__u32 tgid) {
  struct pt_regs *regs = io_syscall_regs();
  struct pmg_io_key k = {.tgid = tgid, .fd = (__u32)PT_REGS_PARM1_CORE_SYSCALL(regs)};
  return k;
}

// Adds one call that returned `ret` to entry `v`.
static __always_inline void io_add(struct pmg_io_track *v, long ret, bool write) {
  if (write) {
    __sync_fetch_and_add(&v->counts.writes, 1);
    if (ret > 0) __sync_fetch_and_add(&v->counts.bytes_written, ret);
  } else {
    __sync_fetch_and_add(&v->counts.reads, 1);
    if (ret > 0) __sync_fetch_and_add(&v->counts.bytes_read, ret);
  }
}

// Adds one call returning `ret` on fd k.fd to its entry, if tracked.
static __always_inline int io_count_call(struct pmg_io_key k, long ret, bool write) {
  struct pmg_io_track *v = bpf_map_lookup_elem(&tracked, &k);
  if (!v) return 0;
  struct file *now_file = current_fd_file(k.fd);
  if ((__u64)now_file != v->file) {
    io_end(&k, v, PMG_IO_REPLACED);
    return 0;
  }
  io_add(v, ret, write);
  return 0;
}

static __always_inline int io_on_exit(struct syscall_exit_args *ctx, bool write) {
  __u32 tgid;
  if (!io_current_maybe_tracked(&tgid)) return 0;
  return io_count_call(io_fd_arg_key(tgid), ctx->ret, write);
}

SEC("tp/syscalls/sys_exit_read")
int pmg_io_read(struct syscall_exit_args *ctx) { return io_on_exit(ctx, false); }
SEC("tp/syscalls/sys_exit_pread64")
int pmg_io_pread64(struct syscall_exit_args *ctx) { return io_on_exit(ctx, false); }
SEC("tp/syscalls/sys_exit_readv")
int pmg_io_readv(struct syscall_exit_args *ctx) { return io_on_exit(ctx, false); }
SEC("tp/syscalls/sys_exit_preadv")
int pmg_io_preadv(struct syscall_exit_args *ctx) { return io_on_exit(ctx, false); }
SEC("tp/syscalls/sys_exit_preadv2")
int pmg_io_preadv2(struct syscall_exit_args *ctx) { return io_on_exit(ctx, false); }
SEC("tp/syscalls/sys_exit_write")
int pmg_io_write(struct syscall_exit_args *ctx) { return io_on_exit(ctx, true); }
SEC("tp/syscalls/sys_exit_pwrite64")
int pmg_io_pwrite64(struct syscall_exit_args *ctx) { return io_on_exit(ctx, true); }
SEC("tp/syscalls/sys_exit_writev")
int pmg_io_writev(struct syscall_exit_args *ctx) { return io_on_exit(ctx, true); }
SEC("tp/syscalls/sys_exit_pwritev")
int pmg_io_pwritev(struct syscall_exit_args *ctx) { return io_on_exit(ctx, true); }
SEC("tp/syscalls/sys_exit_pwritev2")
int pmg_io_pwritev2(struct syscall_exit_args *ctx) { return io_on_exit(ctx, true); }

// io_uring: procmem.bpf.c's io_uring_complete program, already attached for io_uring opens,
// passes every other completed request here, so counting them costs the host nothing more.
// Reads and writes count like the syscalls (their file is tracked; res is the byte count);
// IORING_OP_CLOSE of a tracked fd ends its entry like close(2). The request runs in the
// opener's thread group (its own thread, an io-wq worker or the SQPOLL thread).
// The READV_FIXED and WRITEV_FIXED ops are newer than the others: compared only where the
// kernel has them.
static __always_inline bool io_uring_op(__u8 op, bool *write) {
  if (op == bpf_core_enum_value(enum io_uring_op, IORING_OP_READ) ||
      op == bpf_core_enum_value(enum io_uring_op, IORING_OP_READV) ||
      op == bpf_core_enum_value(enum io_uring_op, IORING_OP_READ_FIXED) ||
      (bpf_core_enum_value_exists(enum io_uring_op, IORING_OP_READV_FIXED) &&
       op == bpf_core_enum_value(enum io_uring_op, IORING_OP_READV_FIXED))) {
    *write = false;
    return true;
  }
  if (op == bpf_core_enum_value(enum io_uring_op, IORING_OP_WRITE) ||
      op == bpf_core_enum_value(enum io_uring_op, IORING_OP_WRITEV) ||
      op == bpf_core_enum_value(enum io_uring_op, IORING_OP_WRITE_FIXED) ||
      (bpf_core_enum_value_exists(enum io_uring_op, IORING_OP_WRITEV_FIXED) &&
       op == bpf_core_enum_value(enum io_uring_op, IORING_OP_WRITEV_FIXED))) {
    *write = true;
    return true;
  }
  return false;
}

// Ends the tracking of `k` as closed if its fd no longer holds the tracked file.
static __always_inline void io_end_if_closed(struct pmg_io_key k) {
  struct pmg_io_track *v = bpf_map_lookup_elem(&tracked, &k);
  if (v && (__u64)current_fd_file(k.fd) != v->file) io_end(&k, v, PMG_IO_CLOSED);
}

static __always_inline int io_uring_done(struct io_kiocb *req, __u8 op, __s32 res) {
  __u32 tgid;
  if (!io_current_maybe_tracked(&tgid)) return 0;
  bool write = false;
  if (io_uring_op(op, &write)) {
    __u64 f = (__u64)BPF_CORE_READ(req, file);
    struct pmg_io_key *by_file = bpf_map_lookup_elem(&tracked_files, &f);
    if (!by_file || by_file->tgid != tgid) return 0;
    struct pmg_io_key k = *by_file;
    struct pmg_io_track *v = bpf_map_lookup_elem(&tracked, &k);
    if (v && v->file == f) io_add(v, res, write);
    return 0;
  }
  if (op != bpf_core_enum_value(enum io_uring_op, IORING_OP_CLOSE) || res != 0) return 0;
  struct io_close *close = (void *)&req->cmd;
  if (BPF_CORE_READ(close, file_slot) != 0) return 0;  // a fixed-file slot, not an fd
  struct pmg_io_key k = {.tgid = tgid, .fd = (__u32)BPF_CORE_READ(close, fd)};
  io_end_if_closed(k);
  return 0;
}

// close(2) and close_range(2) are seen at their exit, like the reads: a program at a syscall
// entry would make every syscall of the host run the kernel's entry-side dispatch too (the
// getppid row of bench/io-track.mjs). Linux frees the fd even when close fails, except with
// EBADF. By the exit another thread may have reused the fd: an entry whose file is still at the
// fd is such a reuse's (its own open replaced the closed one's entry, PMG_IO_REPLACED) and stays.
SEC("tp/syscalls/sys_exit_close")
int pmg_io_close(struct syscall_exit_args *ctx) {
  __u32 tgid;
  if (!io_current_maybe_tracked(&tgid) || ctx->ret == -PMG_EBADF) return 0;
  io_end_if_closed(io_fd_arg_key(tgid));
  return 0;
}

// The range's entries whose fd no longer holds their file end; a close-on-exec range ends
// at the next exec.
SEC("tp/syscalls/sys_exit_close_range")
int pmg_io_close_range(struct syscall_exit_args *ctx) {
  __u32 tgid;
  if (!io_current_maybe_tracked(&tgid) || ctx->ret != 0) return 0;
  struct pt_regs *regs = io_syscall_regs();
  if (PT_REGS_PARM3_CORE_SYSCALL(regs) & PMG_CLOSE_RANGE_CLOEXEC) return 0;
  unsigned long first = PT_REGS_PARM1_CORE_SYSCALL(regs), last = PT_REGS_PARM2_CORE_SYSCALL(regs);
  if (first > 0xffffffffu) return 0;
  io_end_all(tgid, PMG_IO_CLOSE_RANGE, (__u32)first,
             last > 0xffffffffu ? 0xffffffffu : (__u32)last);
  return 0;
}

// The last thread of a process exits: its files are closed next, without close(2).
SEC("tp_btf/sched_process_exit")
int BPF_PROG(pmg_io_exit, struct task_struct *p) {
  __u32 tgid = BPF_CORE_READ(p, tgid);
  if (!io_maybe_tracked(tgid)) return 0;
  if (BPF_CORE_READ(p, signal, live.counter) != 0) return 0;  // other threads still run
  io_end_all(tgid, PMG_IO_EXITED, 0, 0xffffffffu);
  return 0;
}

// An exec closed the process's close-on-exec fds (before the new program runs: its loader's
// opens reuse their numbers).
SEC("tp_btf/sched_process_exec")
int BPF_PROG(pmg_io_exec, struct task_struct *p) {
  __u32 tgid = BPF_CORE_READ(p, tgid);
  if (!io_maybe_tracked(tgid)) return 0;
  io_end_all(tgid, PMG_IO_EXECED, 0, 0xffffffffu);
  return 0;
}
