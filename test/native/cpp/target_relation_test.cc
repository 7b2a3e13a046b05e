// Unit tests of the opener-to-target relation (native/proc/target_relation.h) over made-up
// process trees, without a kernel. Built and run by test/native/cxx-units.test.ts.
#include <map>
#include <set>

#include "check.h"
#include "proc/target_relation.h"

using pmg::ParentLink;
using pmg::TargetRelation;

namespace {

constexpr uint64_t kSec = 1000ull * 1000 * 1000;

// A process tree: pid -> (ppid, start). Counts the look-ups, and which pids were looked up.
struct Tree {
  std::map<int32_t, ParentLink> procs;
  std::set<int32_t> asked;
  int lookups = 0;
  void add(int32_t pid, int32_t ppid, uint64_t start) { procs[pid] = ParentLink{ppid, start}; }
  pmg::ParentOf parentOf() {
    return [this](int32_t pid, ParentLink* out) {
      lookups++;
      asked.insert(pid);
      auto it = procs.find(pid);
      if (it == procs.end()) return false;
      *out = it->second;
      return true;
    };
  }
  TargetRelation relation(int32_t opener, int32_t target) {
    return pmg::relationOf(opener, procs[opener], target, procs[target], parentOf());
  }
};

// init (1) -> sshd (100) -> bash (200) -> gdb (300) -> sh (400) -> prog (500)
//          -> cron (150) -> job (250)
Tree sampleTree() {
  Tree t;
  t.add(1, 0, 1 * kSec);
  t.add(100, 1, 10 * kSec);
  t.add(150, 1, 11 * kSec);
  t.add(200, 100, 20 * kSec);
  t.add(250, 150, 25 * kSec);
  t.add(300, 200, 30 * kSec);
  t.add(400, 300, 40 * kSec);
  t.add(500, 400, 50 * kSec);
  return t;
}

}  // namespace

int main() {
  {  // The four answers.
    Tree t = sampleTree();
    CHECK(t.relation(300, 300) == TargetRelation::kSelf);
    CHECK(t.relation(400, 500) == TargetRelation::kAncestor);  // its own child
    CHECK(t.relation(300, 500) == TargetRelation::kAncestor);  // through a descendant
    CHECK(t.relation(500, 300) == TargetRelation::kDescendant);
    CHECK(t.relation(500, 1) == TargetRelation::kDescendant);
    CHECK(t.relation(1, 500) == TargetRelation::kAncestor);  // init started everything
    CHECK(t.relation(250, 500) == TargetRelation::kUnrelated);
    CHECK(t.relation(500, 250) == TargetRelation::kUnrelated);
    CHECK(t.relation(200, 250) == TargetRelation::kUnrelated);
  }
  {  // No pid, no answer.
    Tree t = sampleTree();
    CHECK(t.relation(0, 500) == TargetRelation::kUnknown);
    CHECK(t.relation(500, 0) == TargetRelation::kUnknown);
  }
  {  // A parent nobody knows breaks the chain: unknown, not unrelated.
    Tree t = sampleTree();
    t.procs.erase(200);
    CHECK(t.relation(250, 500) == TargetRelation::kUnknown);
    // ... unless the answer was found before the break.
    CHECK(t.relation(400, 500) == TargetRelation::kAncestor);
  }
  {  // Start times rule out a direction without walking it: a target started before the
     // opener cannot be its descendant, so only the opener's chain is followed.
    Tree t = sampleTree();
    t.procs.erase(150);  // the target's chain is broken, but it is not needed
    CHECK(t.relation(500, 250) == TargetRelation::kUnrelated);
    CHECK(t.asked.count(150) == 0);
    CHECK(t.asked.count(400) == 1);  // the opener's chain was walked
  }
  {  // A reused pid: the target's parent at fork (700) exited and a newer process got its
     // pid; that process opening the target is not its ancestor.
    Tree t = sampleTree();
    t.add(600, 700, 60 * kSec);  // target, forked by the old 700
    t.add(700, 1, 90 * kSec);    // the new 700, started after the target
    CHECK(t.relation(700, 600) == TargetRelation::kUnrelated);
    // The same reuse in the middle of a walked chain stops the walk: unknown (the old 700
    // might have been started by the opener).
    t.add(650, 600, 65 * kSec);
    t.add(1000, 1, 50 * kSec);  // started before the target: it could be its ancestor
    CHECK(t.relation(1000, 650) == TargetRelation::kUnknown);
    CHECK(t.asked.count(700) == 1);
  }
  {  // Start times rounded differently by two sources (one tick) are not a reuse.
    Tree t;
    t.add(1, 0, 0);
    t.add(10, 1, 5 * kSec + 10'000'000);  // the parent, read 10 ms "after" its child
    t.add(11, 10, 5 * kSec);
    t.add(12, 11, 5 * kSec);
    CHECK(t.relation(1, 12) == TargetRelation::kAncestor);
    CHECK(t.asked.count(10) == 1);
  }
  {  // Unknown start times prune nothing and check nothing.
    Tree t = sampleTree();
    for (auto& p : t.procs) p.second.start_ns = 0;
    CHECK(t.relation(300, 500) == TargetRelation::kAncestor);
    CHECK(t.relation(500, 300) == TargetRelation::kDescendant);
    CHECK(t.relation(250, 500) == TargetRelation::kUnrelated);
  }
  {  // The walk is bounded: a chain deeper than kMaxChainSteps gives unknown, and a loop in
     // bad data ends.
    Tree deep;
    deep.add(1, 0, 0);
    int32_t pid = 1;
    for (int i = 0; i < pmg::kMaxChainSteps + 10; i++) {
      deep.add(pid + 1, pid, 0);
      pid++;
    }
    const int32_t leaf = pid;
    CHECK(deep.relation(leaf - pmg::kMaxChainSteps + 1, leaf) == TargetRelation::kAncestor);
    deep.add(5000, 1, 0);
    CHECK(deep.relation(5000, leaf) == TargetRelation::kUnknown);
    CHECK(deep.lookups <= 4 * pmg::kMaxChainSteps);
    Tree loop;
    loop.add(20, 21, 0);
    loop.add(21, 20, 0);
    loop.add(30, 1, 0);
    loop.add(1, 0, 0);
    CHECK(loop.relation(30, 20) == TargetRelation::kUnknown);
    CHECK(loop.lookups <= 2 * pmg::kMaxChainSteps);
  }
  return pmg_test::checkSummary();
}
