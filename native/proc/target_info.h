// Target enrichment: who the process whose memory is opened is (comm, exe, real uid,
// container, start), how the opener is related to it, and the opener's parent's executable.
// Read on the capture thread when the record is built, because the target may exit right
// after the open; from the process table (native/proc/process_table.h), which reads /proc only
// for a process it does not hold. What cannot be read stays absent (target_known bits, empty
// strings), never guessed.
//
// Cost per record: one table lookup of the target (a hit re-reads its namespaces and cgroup,
// as for the opener), one peek of the opener's parent, and the parent chain walks of
// target_relation.h (one table peek per step, at most kMaxChainSteps per chain; start times
// usually rule out one chain without a walk). A process the table does not hold costs one read
// of its /proc entry, which the table then keeps.
#pragma once

#include "../record.h"
#include "process_table.h"

namespace pmg {

// Fills target_uid, target_start_ns, target_relation, target_known, target_comm,
// target_container_id, target_exe and parent_exe of `rec`, whose opener fields (host_pid,
// host_ppid) and target_pid are already set. Sets kPathTruncated if a string was cut. Never
// throws.
void enrichTarget(ProcessTable& table, CaptureRecord* rec);

}  // namespace pmg
