// Table-driven tests of guard mode's kernel decision (native/ebpf/guard_decide.h) without a
// kernel: the cases the live tests cannot stage safely (host pid 1 and kernel threads as
// openers) and every condition of the compact exception table. Built and run by
// test/native/guard-decide.test.ts.
#include "check.h"
#include "ebpf/guard_decide.h"

namespace {

constexpr __u32 kWatcher = 900;
constexpr __u32 kGdbDev = (8u << 20) | 1u;  // kernel dev_t of /dev/sda1
constexpr __u64 kGdbIno = 4242;

pmg_guard_facts opener(__u32 tgid, __u32 target, __u8 access, __u8 relation) {
  pmg_guard_facts f{};
  f.opener_tgid = tgid;
  f.target_tgid = target;
  f.watcher_tgid = kWatcher;
  f.access = access;
  f.relation = relation;
  f.uid = 1000;
  f.has_exe = 1;
  f.exe_dev = 64u << 20;
  f.exe_ino = 7;
  return f;
}

pmg_guard_facts gdb(__u32 tgid, __u32 target, __u8 access, __u8 relation) {
  pmg_guard_facts f = opener(tgid, target, access, relation);
  f.exe_dev = kGdbDev;
  f.exe_ino = kGdbIno;
  return f;
}

// docs/policies/guard.yaml's gdb-on-its-own-inferiors: gdb, towards what it started.
pmg_guard_exception gdbOnInferiors() {
  pmg_guard_exception e{};
  e.conditions = PMG_GUARD_HAS_EXE | PMG_GUARD_HAS_RELATION;
  e.exe_dev = kGdbDev;
  e.exe_ino = kGdbIno;
  e.signatures = PMG_GUARD_TRC1023 | PMG_GUARD_TRC1024;
  e.access = PMG_GUARD_READ | PMG_GUARD_WRITE;
  e.relations = PMG_GUARD_ANCESTOR;
  return e;
}

struct Table {
  pmg_guard_table t{};
  __u32 count = 0;
  void add(const pmg_guard_exception& e) { t.entries[count++] = e; }
  int decide(const pmg_guard_facts& f, bool kill_self = false) const {
    return pmg_guard_decide(&t, count, kill_self ? 1 : 0, &f);
  }
};

constexpr __u8 R = PMG_GUARD_READ, W = PMG_GUARD_WRITE, RW = R | W;

}  // namespace

int main() {
  const int kAllow = PMG_GUARD_ALLOW, kKill = PMG_GUARD_KILL;
  {  // Never killed, whatever the table says (here: empty, so anything else is killed).
    Table none;
    CHECK(none.decide(opener(1234, 55, R, PMG_GUARD_UNRELATED)) == kKill);  // the baseline
    CHECK(none.decide(opener(kWatcher, 55, RW, PMG_GUARD_UNRELATED)) == kAllow);  // watcher
    CHECK(none.decide(opener(1, 55, RW, PMG_GUARD_ANCESTOR)) == kAllow);          // host pid 1
    CHECK(none.decide(opener(0, 55, RW, 0)) == kAllow);                           // idle task
    pmg_guard_facts kthread = opener(77, 55, RW, PMG_GUARD_UNRELATED);
    kthread.kernel_thread = 1;
    kthread.has_exe = 0;
    CHECK(none.decide(kthread) == kAllow);
    // Its own memory: allowed unless the policy says guard: { killSelf: true }.
    CHECK(none.decide(opener(1234, 1234, RW, PMG_GUARD_SELF)) == kAllow);
    CHECK(none.decide(opener(1234, 1234, RW, PMG_GUARD_SELF), true) == kKill);
    // pid 1 and the watcher stay safe with killSelf too.
    CHECK(none.decide(opener(1, 1, RW, PMG_GUARD_SELF), true) == kAllow);
    CHECK(none.decide(opener(kWatcher, kWatcher, RW, PMG_GUARD_SELF), true) == kAllow);
    // Access mode 3 grants neither read nor write: no finding, nothing to stop.
    CHECK(none.decide(opener(1234, 55, pmg_guard_access(3), PMG_GUARD_UNRELATED)) == kAllow);
  }
  {  // Access bits from f_flags.
    CHECK(pmg_guard_access(0) == R);           // O_RDONLY
    CHECK(pmg_guard_access(1) == W);           // O_WRONLY
    CHECK(pmg_guard_access(2) == RW);          // O_RDWR
    CHECK(pmg_guard_access(02000002) == RW);   // O_RDWR | O_CLOEXEC
    CHECK(pmg_guard_access(0100000) == R);     // O_LARGEFILE
    CHECK(pmg_guard_access(3) == 0);
  }
  {  // gdb on its own inferior, and everything that is not that.
    Table t;
    t.add(gdbOnInferiors());
    CHECK(t.decide(gdb(300, 500, RW, PMG_GUARD_ANCESTOR)) == kAllow);
    CHECK(t.decide(gdb(300, 500, R, PMG_GUARD_ANCESTOR)) == kAllow);
    CHECK(t.decide(gdb(300, 22, R, PMG_GUARD_UNRELATED)) == kKill);  // gdb -p <sshd>
    CHECK(t.decide(gdb(300, 1, R, PMG_GUARD_DESCENDANT)) == kKill);
    CHECK(t.decide(gdb(300, 500, R, 0)) == kKill);  // relation unknown: no relation matches
    CHECK(t.decide(opener(300, 500, R, PMG_GUARD_ANCESTOR)) == kKill);  // another exe
    pmg_guard_facts same_ino_other_dev = gdb(300, 500, R, PMG_GUARD_ANCESTOR);
    same_ino_other_dev.exe_dev = kGdbDev + 1;  // a container's file with the same inode number
    CHECK(t.decide(same_ino_other_dev) == kKill);
    pmg_guard_facts no_exe = gdb(300, 500, R, PMG_GUARD_ANCESTOR);
    no_exe.has_exe = 0;
    CHECK(t.decide(no_exe) == kKill);
  }
  {  // Signatures and access: an O_RDWR open fires TRC-1023 and TRC-1024; each needs cover.
    pmg_guard_exception reads = gdbOnInferiors();
    reads.signatures = PMG_GUARD_TRC1023;
    reads.access = R;
    Table t;
    t.add(reads);
    CHECK(t.decide(gdb(300, 500, R, PMG_GUARD_ANCESTOR)) == kAllow);
    CHECK(t.decide(gdb(300, 500, W, PMG_GUARD_ANCESTOR)) == kKill);
    CHECK(t.decide(gdb(300, 500, RW, PMG_GUARD_ANCESTOR)) == kKill);  // access [read] only
    // access [read, write] but TRC-1023 only: the O_RDWR open's TRC-1024 is not covered...
    pmg_guard_exception rw1023 = reads;
    rw1023.access = RW;
    Table t2;
    t2.add(rw1023);
    CHECK(t2.decide(gdb(300, 500, RW, PMG_GUARD_ANCESTOR)) == kKill);
    // ... until another exception covers it: two entries together allow the open.
    pmg_guard_exception rw1024 = rw1023;
    rw1024.signatures = PMG_GUARD_TRC1024;
    t2.add(rw1024);
    CHECK(t2.decide(gdb(300, 500, RW, PMG_GUARD_ANCESTOR)) == kAllow);
    CHECK(t2.decide(gdb(300, 500, RW, PMG_GUARD_UNRELATED)) == kKill);
  }
  {  // uids: any of the listed, within the entry's count only.
    pmg_guard_exception e{};
    e.conditions = PMG_GUARD_HAS_UID;
    e.signatures = PMG_GUARD_TRC1023 | PMG_GUARD_TRC1024;
    e.access = RW;
    e.n_uids = 2;
    e.uids[0] = 0;
    e.uids[1] = 1000;
    e.uids[2] = 4242;  // beyond n_uids: not listed
    Table t;
    t.add(e);
    pmg_guard_facts f = opener(300, 500, R, PMG_GUARD_UNRELATED);
    CHECK(t.decide(f) == kAllow);  // uid 1000
    f.uid = 0;
    CHECK(t.decide(f) == kAllow);
    f.uid = 4242;
    CHECK(t.decide(f) == kKill);
    f.uid = 1001;
    CHECK(t.decide(f) == kKill);
    e.n_uids = PMG_GUARD_MAX_UIDS;  // a full entry: the last slot counts
    for (__u32 i = 0; i < PMG_GUARD_MAX_UIDS; i++) e.uids[i] = 2000 + i;
    Table full;
    full.add(e);
    f.uid = 2000 + PMG_GUARD_MAX_UIDS - 1;
    CHECK(full.decide(f) == kAllow);
  }
  {  // Relations: any of the listed bits.
    pmg_guard_exception e = gdbOnInferiors();
    e.relations = PMG_GUARD_DESCENDANT | PMG_GUARD_UNRELATED;
    Table t;
    t.add(e);
    CHECK(t.decide(gdb(300, 500, R, PMG_GUARD_DESCENDANT)) == kAllow);
    CHECK(t.decide(gdb(300, 500, R, PMG_GUARD_UNRELATED)) == kAllow);
    CHECK(t.decide(gdb(300, 500, R, PMG_GUARD_ANCESTOR)) == kKill);
    // Self with killSelf: an exception with relation self (gdb-own-memory) allows it.
    e.relations = PMG_GUARD_SELF;
    Table self;
    self.add(e);
    CHECK(self.decide(gdb(300, 300, RW, PMG_GUARD_SELF), true) == kAllow);
    CHECK(self.decide(opener(300, 300, RW, PMG_GUARD_SELF), true) == kKill);
  }
  {  // The count bounds the table: entries past it are not read; a full table is.
    Table t;
    for (int i = 0; i < PMG_GUARD_MAX_EXCEPTIONS; i++) {
      pmg_guard_exception e = gdbOnInferiors();
      e.exe_ino = 100000 + static_cast<__u64>(i);
      t.add(e);
    }
    pmg_guard_facts last = gdb(300, 500, R, PMG_GUARD_ANCESTOR);
    last.exe_ino = 100000 + PMG_GUARD_MAX_EXCEPTIONS - 1;
    CHECK(t.decide(last) == kAllow);
    Table shorter = t;
    shorter.count = PMG_GUARD_MAX_EXCEPTIONS - 1;
    CHECK(shorter.decide(last) == kKill);
    shorter.count = 200;  // a count past the table is cut to its size
    CHECK(shorter.decide(last) == kAllow);
  }
  {  // The state word: index, killSelf and count in one 64-bit value.
    __u64 s = PMG_GUARD_STATE(1, true, 64);
    CHECK(PMG_GUARD_STATE_INDEX(s) == 1);
    CHECK(PMG_GUARD_STATE_KILL_SELF(s) == 1);
    CHECK(PMG_GUARD_STATE_COUNT(s) == 64);
    s = PMG_GUARD_STATE(0, false, 0);
    CHECK(s == 0);
  }
  return pmg_test::checkSummary();
}
