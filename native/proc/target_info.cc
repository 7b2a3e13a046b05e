#include "target_info.h"

#include <string>

#include "../util/fixed_string.h"
#include "procfs.h"
#include "target_relation.h"

namespace pmg {
namespace {

// A process (its thread-group leader) as the table holds it; a process it does not hold is
// read from /proc once (and kept by the table).
bool processInfo(ProcessTable& table, int32_t pid, ProcessInfo* out) {
  return pid > 0 && (table.peek(pid, out) || table.lookup(pid, pid, out));
}

// A parent link is known when the parent is: 0 is the root only for init.
bool linkKnown(int32_t pid, int32_t ppid) { return ppid > 0 || pid == 1; }

TargetRelation relation(ProcessTable& table, const CaptureRecord& rec, uint64_t opener_start,
                        const ProcessInfo* target) {
  if (rec.host_pid > 0 && rec.host_pid == rec.target_pid) return TargetRelation::kSelf;
  if (target == nullptr || !linkKnown(rec.target_pid, target->host_ppid) ||
      !linkKnown(rec.host_pid, rec.host_ppid))
    return TargetRelation::kUnknown;
  ParentLink opener_link{rec.host_ppid, opener_start};
  ParentLink target_link{target->host_ppid, target->thread_start_ns};
  ParentOf parent_of = [&table](int32_t pid, ParentLink* out) {
    ProcessInfo info;
    if (!processInfo(table, pid, &info) || !linkKnown(pid, info.host_ppid)) return false;
    out->ppid = info.host_ppid;
    out->start_ns = info.thread_start_ns;
    return true;
  };
  return relationOf(rec.host_pid, opener_link, rec.target_pid, target_link, parent_of);
}

}  // namespace

void enrichTarget(ProcessTable& table, CaptureRecord* rec) {
  bool cut = false;
  ProcessInfo target;
  // First: a lookup catches the table up with queued fork/exec events, so the peeks below see
  // them too. The leader: comm, exe, uid and start of the process, also for task/<tid>/mem.
  bool have_target = rec->target_pid > 0 && table.lookup(rec->target_pid, rec->target_pid, &target);
  if (have_target) {
    uint8_t known = kTargetUid;
    rec->target_uid = target.uid;
    if (!target.comm.empty()) {
      known |= kTargetComm;
      cut |= !copyFixed(rec->target_comm, target.comm);
    }
    std::string exe = procfs::exeOf(target);
    if (!exe.empty()) {
      known |= kTargetExe;
      cut |= !copyFixed(rec->target_exe, exe);
    }
    // The cgroup was read (a cgroup v2 id, or a container id from any hierarchy).
    if (target.cgroup_id != 0 || !target.container_id.empty()) {
      known |= kTargetContainer;
      cut |= !copyFixed(rec->target_container_id, target.container_id);
    }
    if (target.thread_start_ns != 0) {
      known |= kTargetStart;
      rec->target_start_ns = target.thread_start_ns;
    }
    rec->target_known = known;
  }
  // The opener's process start as the table has it: the record's is its thread's, and the
  // eBPF backend's counts from a different clock (task start_time, monotonic) than /proc's.
  ProcessInfo opener;
  uint64_t opener_start = table.peek(rec->host_pid, &opener) ? opener.thread_start_ns : 0;
  ProcessInfo parent;
  // A "parent" that started after the opener is a newer process that reused the pid.
  if (processInfo(table, rec->host_ppid, &parent) &&
      (opener_start == 0 || parent.thread_start_ns <= opener_start + kStartSlackNs))
    cut |= !copyFixed(rec->parent_exe, procfs::exeOf(parent));
  rec->target_relation =
      static_cast<uint8_t>(relation(table, *rec, opener_start, have_target ? &target : nullptr));
  if (cut) rec->record_flags |= kPathTruncated;
}

}  // namespace pmg
