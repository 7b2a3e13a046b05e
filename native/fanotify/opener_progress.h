// Whether an opener has got past an open whose fd is not (or no longer) in its table: its
// flags are then known only from a write-close, or not at all (pending_flags.h). The flags of
// an fd it still holds come from ../util/fd_flags.h.
#pragma once

#include <cstdint>

#include "pending_flags.h"

namespace pmg {

// Where thread `tid` is relative to an open it made whose fd is not in its table (see
// pending_flags.h): kClosed when it is gone, blocked in a syscall that is not an open, blocked
// outside any syscall, or has run PendingFlags::kProgressNs of CPU since the first call
// (`cpu_mark` keeps that first reading: 0 before it); kNotYet otherwise.
PendingFlags::Probed openerProgress(int32_t tid, uint64_t* cpu_mark);

}  // namespace pmg
