#include "target_relation.h"

namespace pmg {
namespace {

enum class Walk { kFound, kNotFound, kUnknown };

// Follows the parent chain that starts at `link` (the parent and start of some process) up to
// its root, looking for `wanted`.
Walk findAncestor(const ParentLink& link, int32_t wanted, const ParentOf& parent_of) {
  int32_t pid = link.ppid;
  uint64_t child_start = link.start_ns;
  for (int step = 0; step < kMaxChainSteps; ++step) {
    if (pid == wanted) return Walk::kFound;
    if (pid <= 0) return Walk::kNotFound;  // past the root
    ParentLink up;
    if (!parent_of(pid, &up)) return Walk::kUnknown;
    if (up.start_ns != 0 && child_start != 0 && up.start_ns > child_start + kStartSlackNs)
      return Walk::kUnknown;  // the pid was reused: the real parent is gone
    pid = up.ppid;
    child_start = up.start_ns;
  }
  return Walk::kUnknown;
}

// A process that started after `b` (beyond the slack) cannot be an ancestor of `b`.
bool startedAfter(const ParentLink& a, const ParentLink& b) {
  return a.start_ns != 0 && b.start_ns != 0 && a.start_ns > b.start_ns + kStartSlackNs;
}

}  // namespace

TargetRelation relationOf(int32_t opener, const ParentLink& opener_link, int32_t target,
                          const ParentLink& target_link, const ParentOf& parent_of) {
  if (opener <= 0 || target <= 0) return TargetRelation::kUnknown;
  if (opener == target) return TargetRelation::kSelf;
  // Start times rule out one direction without a walk, usually the longer one.
  Walk up_from_target = startedAfter(opener_link, target_link)
                            ? Walk::kNotFound
                            : findAncestor(target_link, opener, parent_of);
  if (up_from_target == Walk::kFound) return TargetRelation::kAncestor;
  Walk up_from_opener = startedAfter(target_link, opener_link)
                            ? Walk::kNotFound
                            : findAncestor(opener_link, target, parent_of);
  if (up_from_opener == Walk::kFound) return TargetRelation::kDescendant;
  if (up_from_target == Walk::kNotFound && up_from_opener == Walk::kNotFound)
    return TargetRelation::kUnrelated;
  return TargetRelation::kUnknown;
}

}  // namespace pmg
