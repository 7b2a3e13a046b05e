// Observed access (docs/ebpf-capture.md "Observed access"): what the opener of a reported mem
// file did with it. Included by procmem.bpf.c, whose report() calls io_track_open() for every
// open it sends. Each tracked open is an entry of the hash map `tracked`, keyed by the opener's
// tgid and fd; the exits of the read and write families add to it; close(2) of the fd sends its
// summary through the ring buffer io_events and forgets it. A process that exits, exec's or
// calls close_range() with tracked fds sends a notice instead, and user space summarizes its
// entries (native/ebpf/io_tracker.cc): a BPF program cannot walk a hash map cheaply.
//
// Cost: the read/write programs run at the exit of every read and write on the host; while
// nothing is tracked they return after one load of io_tracked_count, and while something is,
// a process with nothing tracked returns after one more load (io_tgid_slots). Only the
// tracked processes pay a hash lookup per call (bench/io-track.mjs, docs/ebpf-capture.md).
//
// Not tracked: fds the opener duplicated (dup, dup2, dup3, fcntl F_DUPFD) or passed on (fork,
// SCM_RIGHTS), reads through io_uring, splice, sendfile and copy_file_range.
#pragma once

#include "io_event.h"

#define PMG_IO_MAX_TRACKED 4096
#define PMG_CLOSE_RANGE_CLOEXEC (1u << 2)

// Slots of io_counters.
#define PMG_IO_COUNT_TRACKED 0    // opens tracked
#define PMG_IO_COUNT_UNTRACKED 1  // opens not tracked: the map was full
#define PMG_IO_COUNT_LOST 2       // summaries or notices lost: io_events was full

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

// The tgids that opened a tracked file and have not exited: only they send exit, exec and
// close_range notices. An entry stays until its process exits.
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, PMG_IO_MAX_TRACKED);
  __type(key, __u32);
  __type(value, __u8);
} tracked_tgids SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 3);
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
#define PMG_IO_TGID_SLOTS 1024
__u32 io_tgid_slots[PMG_IO_TGID_SLOTS] = {};

// Whether `tgid` may have a tracked fd: false for certain, true maybe.
static __always_inline bool io_maybe_tracked(__u32 tgid) {
  return io_tracked_count != 0 && io_tgid_slots[tgid & (PMG_IO_TGID_SLOTS - 1)] != 0;
}

// Defined in procmem.bpf.c.
static __always_inline struct file *current_fd_file(long fd);

static __always_inline void io_count(__u32 slot) {
  __u64 *n = bpf_map_lookup_elem(&io_counters, &slot);
  if (n) *n += 1;
}

// Sends a summary of `v` (or, v NULL, a notice) for key `k`.
static __always_inline void io_send(__u32 kind, const struct pmg_io_key *k,
                                    const struct pmg_io_track *v, __u64 now) {
  struct pmg_io_event *e = bpf_ringbuf_reserve(&io_events, sizeof(*e), 0);
  if (!e) {
    io_count(PMG_IO_COUNT_LOST);
    return;
  }
  e->time_ns = now;
  e->kind = kind;
  e->tgid = k->tgid;
  e->fd = k->fd;
  e->fd_last = k->fd;
  e->pad = 0;
  if (v) {
    e->open_ns = v->open_ns;
    e->counts = v->counts;
    e->tid = v->tid;
    e->target_pid = v->target_pid;
    e->target_tid = v->target_tid;
  } else {
    e->open_ns = 0;
    __builtin_memset(&e->counts, 0, sizeof(e->counts));
    e->tid = (__u32)bpf_get_current_pid_tgid();
    e->target_pid = e->target_tid = 0;
  }
  bpf_ringbuf_submit(e, 0);
}

static __always_inline void io_forget(const struct pmg_io_key *k) {
  if (bpf_map_delete_elem(&tracked, k) != 0) return;
  __sync_fetch_and_add(&io_tgid_slots[k->tgid & (PMG_IO_TGID_SLOTS - 1)], -1);
  __sync_fetch_and_add(&io_tracked_count, -1);
}

// Sends the summary of entry `v` of `k` and forgets it. `now_file` is the file at the fd now:
// another file than the tracked one means the tracked one was closed without close(2).
static __always_inline void io_summarize(const struct pmg_io_key *k, const struct pmg_io_track *v,
                                         struct file *now_file, bool closing) {
  __u32 kind = closing && (__u64)now_file == v->file ? PMG_IO_CLOSED : PMG_IO_REPLACED;
  io_send(kind, k, v, bpf_ktime_get_ns());
  io_forget(k);
}

// Called by report() for an open it sends: starts tracking fd `e->fd` of the opener (`fp` is
// the file at that fd). A stale entry at the same key (its file closed without close(2)) is
// summarized first.
static __always_inline void io_track_open(const struct pmg_bpf_event *e, struct file *fp) {
  if (!io_tracking_on) return;
  struct pmg_io_key k = {.tgid = e->host_pid, .fd = e->fd};
  struct pmg_io_track *old = bpf_map_lookup_elem(&tracked, &k);
  if (old) io_summarize(&k, old, fp, false);
  struct pmg_io_track v = {};
  v.open_ns = e->timestamp_ns;
  v.file = (__u64)fp;
  v.tid = e->host_tid;
  v.target_pid = e->target_pid;
  v.target_tid = e->target_tid;
  __u8 one = 1;
  if (bpf_map_update_elem(&tracked_tgids, &k.tgid, &one, BPF_ANY) != 0 ||
      bpf_map_update_elem(&tracked, &k, &v, BPF_NOEXIST) != 0) {
    io_count(PMG_IO_COUNT_UNTRACKED);
    return;
  }
  __sync_fetch_and_add(&io_tgid_slots[k.tgid & (PMG_IO_TGID_SLOTS - 1)], 1);
  __sync_fetch_and_add(&io_tracked_count, 1);
  io_count(PMG_IO_COUNT_TRACKED);
}

// The per-syscall tracepoints' contexts (syscalls:sys_enter_* and sys_exit_*).
struct io_sys_enter_args {
  __u64 common;
  long nr;
  unsigned long args[6];
};
struct io_sys_exit_args {
  __u64 common;
  long nr;
  long ret;
};

// Adds one call returning `ret` on fd k.fd to its entry, if tracked.
static __always_inline int io_count_call(struct pmg_io_key k, long ret, bool write) {
  struct pmg_io_track *v = bpf_map_lookup_elem(&tracked, &k);
  if (!v) return 0;
  struct file *now_file = current_fd_file(k.fd);
  if ((__u64)now_file != v->file) {
    io_summarize(&k, v, now_file, false);
    return 0;
  }
  if (write) {
    __sync_fetch_and_add(&v->counts.writes, 1);
    if (ret > 0) __sync_fetch_and_add(&v->counts.bytes_written, ret);
  } else {
    __sync_fetch_and_add(&v->counts.reads, 1);
    if (ret > 0) __sync_fetch_and_add(&v->counts.bytes_read, ret);
  }
  return 0;
}

static __always_inline int io_on_exit(struct io_sys_exit_args *ctx, bool write) {
  if (io_tracked_count == 0) return 0;  // what every read and write on the host pays
  __u32 tgid = bpf_get_current_pid_tgid() >> 32;
  if (!io_maybe_tracked(tgid)) return 0;  // and while something is tracked, other processes
  // The exit tracepoint has no arguments: the fd is the first syscall argument in the user
  // registers saved at entry.
  struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
  struct pmg_io_key k = {.tgid = tgid, .fd = (__u32)PT_REGS_PARM1_CORE_SYSCALL(regs)};
  return io_count_call(k, ctx->ret, write);
}

SEC("tp/syscalls/sys_exit_read")
int pmg_io_read(struct io_sys_exit_args *ctx) { return io_on_exit(ctx, false); }
SEC("tp/syscalls/sys_exit_pread64")
int pmg_io_pread64(struct io_sys_exit_args *ctx) { return io_on_exit(ctx, false); }
SEC("tp/syscalls/sys_exit_readv")
int pmg_io_readv(struct io_sys_exit_args *ctx) { return io_on_exit(ctx, false); }
SEC("tp/syscalls/sys_exit_preadv")
int pmg_io_preadv(struct io_sys_exit_args *ctx) { return io_on_exit(ctx, false); }
SEC("tp/syscalls/sys_exit_preadv2")
int pmg_io_preadv2(struct io_sys_exit_args *ctx) { return io_on_exit(ctx, false); }
SEC("tp/syscalls/sys_exit_write")
int pmg_io_write(struct io_sys_exit_args *ctx) { return io_on_exit(ctx, true); }
SEC("tp/syscalls/sys_exit_pwrite64")
int pmg_io_pwrite64(struct io_sys_exit_args *ctx) { return io_on_exit(ctx, true); }
SEC("tp/syscalls/sys_exit_writev")
int pmg_io_writev(struct io_sys_exit_args *ctx) { return io_on_exit(ctx, true); }
SEC("tp/syscalls/sys_exit_pwritev")
int pmg_io_pwritev(struct io_sys_exit_args *ctx) { return io_on_exit(ctx, true); }
SEC("tp/syscalls/sys_exit_pwritev2")
int pmg_io_pwritev2(struct io_sys_exit_args *ctx) { return io_on_exit(ctx, true); }

// At the entry of close(2) the fd still holds the file: the entry is summarized before another
// thread's open can reuse the fd.
SEC("tp/syscalls/sys_enter_close")
int pmg_io_close(struct io_sys_enter_args *ctx) {
  struct pmg_io_key k = {.tgid = bpf_get_current_pid_tgid() >> 32, .fd = (__u32)ctx->args[0]};
  if (!io_maybe_tracked(k.tgid)) return 0;
  struct pmg_io_track *v = bpf_map_lookup_elem(&tracked, &k);
  if (v) io_summarize(&k, v, current_fd_file(k.fd), true);
  return 0;
}

SEC("tp/syscalls/sys_enter_close_range")
int pmg_io_close_range(struct io_sys_enter_args *ctx) {
  if (ctx->args[2] & PMG_CLOSE_RANGE_CLOEXEC) return 0;  // closed at the next exec, if any
  struct pmg_io_key k = {.tgid = bpf_get_current_pid_tgid() >> 32, .fd = (__u32)ctx->args[0]};
  if (!io_maybe_tracked(k.tgid)) return 0;
  if (!bpf_map_lookup_elem(&tracked_tgids, &k.tgid)) return 0;
  struct pmg_io_event *e = bpf_ringbuf_reserve(&io_events, sizeof(*e), 0);
  if (!e) {
    io_count(PMG_IO_COUNT_LOST);
    return 0;
  }
  __builtin_memset(e, 0, sizeof(*e));
  e->time_ns = bpf_ktime_get_ns();
  e->kind = PMG_IO_CLOSE_RANGE;
  e->tgid = k.tgid;
  e->tid = (__u32)bpf_get_current_pid_tgid();
  e->fd = k.fd;
  e->fd_last = ctx->args[1] > 0xffffffffu ? 0xffffffffu : (__u32)ctx->args[1];
  bpf_ringbuf_submit(e, 0);
  return 0;
}

// The last thread of a process exits (its files are closed next, without close(2)). Not
// gated on io_tracked_count: the tgid's entry in tracked_tgids is removed here even when its
// opens were all closed.
SEC("tp_btf/sched_process_exit")
int BPF_PROG(pmg_io_exit, struct task_struct *p) {
  struct pmg_io_key k = {.tgid = BPF_CORE_READ(p, tgid), .fd = 0};
  if (!bpf_map_lookup_elem(&tracked_tgids, &k.tgid)) return 0;
  if (BPF_CORE_READ(p, signal, live.counter) != 0) return 0;  // other threads still run
  bpf_map_delete_elem(&tracked_tgids, &k.tgid);
  if (io_tracked_count != 0) io_send(PMG_IO_EXITED, &k, NULL, bpf_ktime_get_ns());
  return 0;
}

// An exec closed the process's close-on-exec fds.
SEC("tp_btf/sched_process_exec")
int BPF_PROG(pmg_io_exec, struct task_struct *p) {
  struct pmg_io_key k = {.tgid = BPF_CORE_READ(p, tgid), .fd = 0};
  if (!io_maybe_tracked(k.tgid)) return 0;
  io_send(PMG_IO_EXECED, &k, NULL, bpf_ktime_get_ns());
  return 0;
}
