// Guard mode's settings as the addon hands them to a backend (README "Guard mode"): the mode
// and the compact exception table that src/guard/table.ts builds from the policy. Only the
// eBPF backend enforces (native/ebpf/guard.bpf.h); Backend::setGuard refuses elsewhere.
#pragma once

#include <vector>

#include "ebpf/guard_decide.h"

namespace pmg {

struct GuardConfig {
  unsigned mode = PMG_GUARD_OFF;             // PMG_GUARD_OFF, _ENFORCE or _DRY_RUN
  bool kill_self = false;                    // the policy's guard.killSelf
  std::vector<pmg_guard_exception> entries;  // at most PMG_GUARD_MAX_EXCEPTIONS
};

}  // namespace pmg
