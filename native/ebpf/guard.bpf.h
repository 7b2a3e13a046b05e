// Guard mode in the kernel (README "Guard mode", docs/ebpf-capture.md): for an open of a
// procfs mem file that report() kept, gather the facts guard_decide.h needs and, when the
// decision is to kill, send SIGKILL to the opener. Runs at the completion of the open, before
// the opener returns to user space and before the event is reserved in the ring buffer, so a
// full ring does not stop enforcement: the per-CPU guard_counts map counts every kill and
// would-kill whether or not its event reached user space.
//
// Included by procmem.bpf.c after its maps, self_tgid and proc_inode_host_pid().
#pragma once

#include "guard_decide.h"

#define PMG_PF_KTHREAD 0x00200000  // include/linux/sched.h
#define PMG_SIGKILL 9

// Set by user space before load: PMG_GUARD_OFF, _ENFORCE or _DRY_RUN. Off, nothing below runs
// (the verifier drops the dead code), and bpf_send_signal is not needed.
const volatile __u32 guard_mode = PMG_GUARD_OFF;

// Two tables: user space writes the one not in use, then switches guard_state to it.
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, struct pmg_guard_table);
} guard_tables SEC(".maps");

// [0]: PMG_GUARD_STATE(index, kill_self, count), one word.
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} guard_state SEC(".maps");

// PMG_GUARD_COUNT_*: kills, would-kills (dry run), kills the kernel refused.
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, PMG_GUARD_COUNTS);
  __type(key, __u32);
  __type(value, __u64);
} guard_counts SEC(".maps");

static __always_inline void guard_count(__u32 which) {
  __u64 *n = bpf_map_lookup_elem(&guard_counts, &which);
  if (n) *n += 1;
}

// The thread-group leader of a struct pid (its PIDTYPE_PID task), or NULL.
static __always_inline struct task_struct *guard_pid_task(struct pid *pid) {
  if (!pid) return NULL;
  struct hlist_node *first = BPF_CORE_READ(pid, tasks[PIDTYPE_PID].first);
  if (!first) return NULL;
  return (void *)((char *)first - bpf_core_field_offset(struct task_struct, pid_links));
}

// True when `wanted` is among the real parents of `task` (at most PMG_GUARD_MAX_DEPTH up);
// *ended says whether the walk reached the root (the idle task, tgid 0) before the bound.
static __always_inline bool guard_has_ancestor(struct task_struct *task, __u32 wanted,
                                               bool *ended) {
  *ended = false;
  for (int i = 0; i < PMG_GUARD_MAX_DEPTH; i++) {
    if (!task) return false;
    struct task_struct *parent = BPF_CORE_READ(task, real_parent);
    if (!parent || parent == task) {
      *ended = true;
      return false;
    }
    __u32 tgid = BPF_CORE_READ(parent, tgid);
    if (tgid == wanted) return true;
    if (tgid == 0) {
      *ended = true;
      return false;
    }
    task = parent;
  }
  return false;
}

// The opener's relation to the target (PMG_GUARD_SELF...), 0 when a walk hit the bound.
static __always_inline __u8 guard_relation(struct task_struct *opener, __u32 opener_tgid,
                                           struct task_struct *target, __u32 target_tgid) {
  if (opener_tgid == target_tgid) return PMG_GUARD_SELF;
  bool target_ended = false, opener_ended = false;
  if (target && guard_has_ancestor(target, opener_tgid, &target_ended)) return PMG_GUARD_ANCESTOR;
  if (guard_has_ancestor(opener, target_tgid, &opener_ended)) return PMG_GUARD_DESCENDANT;
  return target_ended && opener_ended ? PMG_GUARD_UNRELATED : 0;
}

// pmg_guard_decide()'s entry loop as a bpf_loop() callback.
struct guard_loop {
  struct pmg_guard_facts facts;
  __u32 index;  // the table in use
  __u8 need;
  __u8 covered;
};

static long guard_step(__u64 i, void *data) {
  struct guard_loop *l = data;
  __u32 key = l->index;
  struct pmg_guard_table *table = bpf_map_lookup_elem(&guard_tables, &key);
  if (!table || i >= PMG_GUARD_MAX_EXCEPTIONS) return 1;
  l->covered |= pmg_guard_covers(&table->entries[i], &l->facts);
  return (l->covered & l->need) == l->need;  // 1 stops: every finding is covered
}

// PMG_BPF_KILLED, PMG_BPF_WOULD_KILL or 0 for this open: the bits report() puts in the
// event's flags. `f` is the opened file, `pid_dir` its <pid> directory in procfs.
static __always_inline __u32 pmg_guard(struct file *f, struct dentry *pid_dir, __u32 tgid) {
  if (guard_mode == PMG_GUARD_OFF) return 0;
  __u32 zero = 0;
  __u64 *state = bpf_map_lookup_elem(&guard_state, &zero);
  if (!state) return 0;
  __u64 s = *state;

  struct task_struct *task = bpf_get_current_task_btf();
  struct guard_loop loop = {};
  struct pmg_guard_facts *facts = &loop.facts;
  facts->opener_tgid = tgid;
  facts->watcher_tgid = self_tgid;
  facts->uid = (__u32)bpf_get_current_uid_gid();
  facts->kernel_thread = (BPF_CORE_READ(task, flags) & PMG_PF_KTHREAD) != 0;
  facts->access = pmg_guard_access(BPF_CORE_READ(f, f_flags));
  // The target: the task of the <pid> directory's struct pid. Its tgid, not the directory's
  // number: /proc/<tid>/mem of a non-leader thread is the same process's memory.
  struct inode *pid_inode = BPF_CORE_READ(pid_dir, d_inode);
  struct task_struct *target = NULL;
  if (pid_inode) {
    struct proc_inode *pi =
        (void *)((char *)pid_inode - bpf_core_field_offset(struct proc_inode, vfs_inode));
    target = guard_pid_task(BPF_CORE_READ(pi, pid));
  }
  facts->target_tgid = target ? BPF_CORE_READ(target, tgid) : proc_inode_host_pid(pid_inode);
  if (pmg_guard_exempt(facts, PMG_GUARD_STATE_KILL_SELF(s))) return 0;
  loop.need = pmg_guard_needed(facts);
  if (loop.need == 0) return 0;
  struct file *exe = BPF_CORE_READ(task, mm, exe_file);
  if (exe) {
    struct inode *exe_inode = BPF_CORE_READ(exe, f_inode);
    facts->exe_ino = BPF_CORE_READ(exe_inode, i_ino);
    facts->exe_dev = BPF_CORE_READ(exe_inode, i_sb, s_dev);
    facts->has_exe = 1;
  }
  facts->relation = guard_relation(task, tgid, target, facts->target_tgid);
  loop.index = PMG_GUARD_STATE_INDEX(s);
  __u32 count = PMG_GUARD_STATE_COUNT(s);
  if (count > PMG_GUARD_MAX_EXCEPTIONS) count = PMG_GUARD_MAX_EXCEPTIONS;
  if (count > 0) bpf_loop(count, guard_step, &loop, 0);
  if ((loop.covered & loop.need) == loop.need) return 0;

  if (guard_mode == PMG_GUARD_DRY_RUN) {
    guard_count(PMG_GUARD_COUNT_WOULD_KILL);
    return PMG_BPF_WOULD_KILL;
  }
  if (bpf_send_signal(PMG_SIGKILL) != 0) {
    guard_count(PMG_GUARD_COUNT_KILL_FAILED);
    return 0;
  }
  guard_count(PMG_GUARD_COUNT_KILLED);
  return PMG_BPF_KILLED;
}
