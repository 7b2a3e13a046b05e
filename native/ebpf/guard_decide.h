// Guard mode's decision (README "Guard mode", docs/ebpf-capture.md): may this open of a procfs
// mem file go on, or is its opener killed? A pure function over the compact exception table and
// the facts of one open, shared by the BPF program (guard.bpf.h, which gathers the facts in the
// kernel) and a kernel-free C++ test (test/native/cpp/guard_decide_test.cc). C, no libc, no
// BPF helpers: what the verifier accepts and a C++ compiler builds.
//
// The table is the policy's kernel-decidable exceptions (src/guard/table.ts builds it from a
// checked Policy): each entry is one exception with at most one pinned executable and at most
// PMG_GUARD_MAX_UIDS uids (an exception with more is split into several entries). The decision
// mirrors TRC-1023 (an open with read access) and TRC-1024 (write access) through the policy
// matcher (src/policy/matcher.ts): the open is allowed when every signature it would fire is
// covered by a matching exception, suppress or annotate alike.
#pragma once

#ifndef __VMLINUX_H__
#include <linux/types.h>  // __u8, __u32, __u64 (vmlinux.h has them in the BPF build)
#endif

#define PMG_GUARD_MAX_EXCEPTIONS 64
#define PMG_GUARD_MAX_UIDS 8
// How many parents guard.bpf.h follows from each side to find the relation.
#define PMG_GUARD_MAX_DEPTH 16

// Guard modes (the loader's rodata guard_mode).
#define PMG_GUARD_OFF 0u
#define PMG_GUARD_ENFORCE 1u
#define PMG_GUARD_DRY_RUN 2u

// Access bits of an open, and what an exception allows.
#define PMG_GUARD_READ 1u
#define PMG_GUARD_WRITE 2u

// Signature bits: the finding an open fires (TRC-1023 for read access, TRC-1024 for write).
#define PMG_GUARD_TRC1023 1u
#define PMG_GUARD_TRC1024 2u

// Relation of the opener to the target (TargetRelation in src/events/types.ts): one bit, or
// 0 when a parent chain could not be followed to its end (no relation condition matches).
#define PMG_GUARD_SELF 1u
#define PMG_GUARD_ANCESTOR 2u  // the opener started the target (directly or not)
#define PMG_GUARD_DESCENDANT 4u
#define PMG_GUARD_UNRELATED 8u

// Conditions an entry sets (an unset one matches anything).
#define PMG_GUARD_HAS_EXE 1u
#define PMG_GUARD_HAS_UID 2u
#define PMG_GUARD_HAS_RELATION 4u

// What the decision says.
#define PMG_GUARD_ALLOW 0
#define PMG_GUARD_KILL 1

struct pmg_guard_exception {
  __u64 exe_ino;     // the pinned executable's inode number
  __u32 exe_dev;     // and its superblock's dev_t, kernel encoding (major << 20 | minor)
  __u32 conditions;  // PMG_GUARD_HAS_*
  __u8 signatures;   // PMG_GUARD_TRC*: the findings it covers
  __u8 access;       // PMG_GUARD_READ | PMG_GUARD_WRITE it allows
  __u8 relations;    // PMG_GUARD_SELF...: any of them
  __u8 n_uids;
  __u32 uids[PMG_GUARD_MAX_UIDS];
  __u32 pad;
};

// One table: the BPF side keeps two (see guard.bpf.h) and switches between them.
struct pmg_guard_table {
  struct pmg_guard_exception entries[PMG_GUARD_MAX_EXCEPTIONS];
};

// The table in use, in one 64-bit word so that a reader sees it change at once:
// bit 0 the table index, bit 1 kill_self, bits 8..15 the entry count.
#define PMG_GUARD_STATE(index, kill_self, count) \
  ((__u64)(index) | ((__u64)((kill_self) ? 1 : 0) << 1) | ((__u64)(count) << 8))
#define PMG_GUARD_STATE_INDEX(s) ((__u32)((s)&1))
#define PMG_GUARD_STATE_KILL_SELF(s) ((__u32)(((s) >> 1) & 1))
#define PMG_GUARD_STATE_COUNT(s) ((__u32)(((s) >> 8) & 0xff))

// Indices of the BPF per-CPU counter map guard_counts.
#define PMG_GUARD_COUNT_KILLED 0
#define PMG_GUARD_COUNT_WOULD_KILL 1
#define PMG_GUARD_COUNT_KILL_FAILED 2
#define PMG_GUARD_COUNTS 3

struct pmg_guard_facts {
  __u64 exe_ino;
  __u32 exe_dev;
  __u32 uid;  // real uid, as bpf_get_current_uid_gid() and the event's userId
  __u32 opener_tgid;
  __u32 target_tgid;
  __u32 watcher_tgid;
  __u8 access;         // PMG_GUARD_READ | PMG_GUARD_WRITE the open grants
  __u8 relation;       // one PMG_GUARD_SELF... bit, or 0 (unknown)
  __u8 has_exe;        // exe_dev/exe_ino were read (a process with an mm)
  __u8 kernel_thread;  // PF_KTHREAD
};

// Access bits from open flags: O_RDONLY read, O_WRONLY write, O_RDWR both; the invalid
// access mode 3 grants neither (the kernel opens it without FMODE_READ or FMODE_WRITE).
static inline __u8 pmg_guard_access(__u32 f_flags) {
  __u32 mode = f_flags & 3;
  return mode == 0   ? PMG_GUARD_READ
         : mode == 1 ? PMG_GUARD_WRITE
         : mode == 2 ? (PMG_GUARD_READ | PMG_GUARD_WRITE)
                     : 0;
}

static inline int pmg_guard_matches(const struct pmg_guard_exception *e,
                                    const struct pmg_guard_facts *f) {
  if (f->access & ~e->access) return 0;
  if (e->conditions & PMG_GUARD_HAS_EXE) {
    if (!f->has_exe || e->exe_dev != f->exe_dev || e->exe_ino != f->exe_ino) return 0;
  }
  if (e->conditions & PMG_GUARD_HAS_UID) {
    int found = 0;
    for (__u32 i = 0; i < PMG_GUARD_MAX_UIDS; i++) {
      if (i >= e->n_uids) break;
      if (e->uids[i] == f->uid) {
        found = 1;
        break;
      }
    }
    if (!found) return 0;
  }
  if ((e->conditions & PMG_GUARD_HAS_RELATION) && !(e->relations & f->relation)) return 0;
  return 1;
}

// The never-kill rules: the watcher, host pid 1 (the host goes down with it), kernel threads,
// and a process reading its own memory unless the policy says guard: { killSelf: true }.
static inline int pmg_guard_exempt(const struct pmg_guard_facts *f, __u32 kill_self) {
  if (f->opener_tgid == f->watcher_tgid || f->opener_tgid <= 1 || f->kernel_thread) return 1;
  return f->target_tgid == f->opener_tgid && !kill_self;
}

// The findings the open fires (PMG_GUARD_TRC* bits): each needs an exception that covers it.
static inline __u8 pmg_guard_needed(const struct pmg_guard_facts *f) {
  return (f->access & PMG_GUARD_READ ? PMG_GUARD_TRC1023 : 0) |
         (f->access & PMG_GUARD_WRITE ? PMG_GUARD_TRC1024 : 0);
}

// The findings of this open that entry `e` covers (0 when one of its conditions fails).
static inline __u8 pmg_guard_covers(const struct pmg_guard_exception *e,
                                    const struct pmg_guard_facts *f) {
  return pmg_guard_matches(e, f) ? e->signatures : 0;
}

// PMG_GUARD_KILL or PMG_GUARD_ALLOW for the open `f`, given `count` entries of `table`: the
// decision, whole. The BPF side (guard.bpf.h) runs the same steps with the entry loop in
// bpf_loop(), which the verifier checks once instead of once per entry.
static inline int pmg_guard_decide(const struct pmg_guard_table *table, __u32 count,
                                   __u32 kill_self, const struct pmg_guard_facts *f) {
  if (pmg_guard_exempt(f, kill_self)) return PMG_GUARD_ALLOW;
  __u8 need = pmg_guard_needed(f);
  if (need == 0) return PMG_GUARD_ALLOW;  // no finding: the open grants neither read nor write
  __u8 covered = 0;
  for (__u32 i = 0; i < PMG_GUARD_MAX_EXCEPTIONS; i++) {
    if (i >= count) break;
    covered |= pmg_guard_covers(&table->entries[i], f);
    if ((covered & need) == need) return PMG_GUARD_ALLOW;
  }
  return PMG_GUARD_KILL;
}
