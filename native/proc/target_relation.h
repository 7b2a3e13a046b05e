// How the opener of a mem file is related to its target, from the two processes' parent
// chains: self, ancestor (the opener started the target, directly or through its
// descendants: gdb running its inferior), descendant (the target started the opener), or
// unrelated. Pure logic over a parent-lookup callback: unit-tested without a kernel
// (test/native/cpp/target_relation_test.cc); native/proc/target_info.cc feeds it the process
// table.
#pragma once

#include <cstdint>
#include <functional>

#include "../record.h"

namespace pmg {

// A process's parent (host tgid; 0 past the root: init and kthreadd have none) and its own
// start (ns since boot; 0 = unknown).
struct ParentLink {
  int32_t ppid = 0;
  uint64_t start_ns = 0;
};

// Fills `out` for the process `pid`; false if it is not known.
using ParentOf = std::function<bool(int32_t pid, ParentLink* out)>;

// Each chain is followed for at most this many parents; a longer one gives kUnknown. Real
// chains are a few to a few dozen deep (init, a service manager, a session, shells, the tool).
constexpr int kMaxChainSteps = 64;

// A parent that started more than this after its child is not its parent but a newer process
// that reused the pid (the table keeps a process's parent as it was at fork). The slack
// covers start times rounded to clock ticks by different sources (stat vs TASKSTATS).
constexpr uint64_t kStartSlackNs = 20ull * 1000 * 1000;

// The relation of the opener (thread group `opener`, its own link) to the target (`target`,
// its link). Both links must be known (a ppid of 0 means "the root", so an unknown parent
// must not be passed as 0). kUnknown when a chain breaks (a parent unknown, a pid reused, the
// bound reached) before an answer is certain; never a guess.
TargetRelation relationOf(int32_t opener, const ParentLink& opener_link, int32_t target,
                          const ParentLink& target_link, const ParentOf& parent_of);

}  // namespace pmg
