// Process table: who is who on the host, kept current by the proc connector (fork, exec,
// comm change, exit) and by reads of /proc, so that an opener that opened, closed and exited
// before its event was read can still be attributed. Shared by every capture backend.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "../record.h"

namespace pmg {

struct ProcessInfo {
  int32_t host_pid = 0, host_tid = 0, host_ppid = 0;
  int32_t ns_pid = 0, ns_tid = 0, ns_ppid = 0;  // innermost pid namespace (NSpid last)
  uint32_t uid = 0, gid = 0;
  uint32_t mnt_ns = 0, pid_ns = 0;
  uint64_t cgroup_id = 0;
  uint64_t thread_start_ns = 0;  // since boot
  std::string comm, exe, container_id;
  bool exited = false;  // entry kept after exit for late events
};

class ProcessTable {
 public:
  virtual ~ProcessTable() = default;
  // Subscribes to the proc connector and scans /proc. Throws CaptureError on failure.
  virtual void start() = 0;
  virtual void stop() = 0;
  // Fills `out` for the thread `host_tid` (thread-group `host_pid`, 0 if unknown). Reads /proc
  // on a miss. Returns false if nothing is known. Thread-safe.
  virtual bool lookup(int32_t host_pid, int32_t host_tid, ProcessInfo* out) = 0;
  // Host pid of the process that is `ns_pid` in pid namespace `pid_ns`, or 0 if unknown.
  virtual int32_t hostPidOf(uint32_t pid_ns, int32_t ns_pid) = 0;
  // Fills the attribution fields of `rec` (pids, uid, comm, exe, namespaces, cgroup,
  // container, thread start) for the opener; sets kOpenerExited/kAttributionMissing.
  virtual void attribute(int32_t host_pid, int32_t host_tid, CaptureRecord* rec) = 0;
  // Table counters for stats() in JavaScript (hits, misses, entries, ...). Thread-safe.
  virtual std::map<std::string, uint64_t> stats() const { return {}; }
};

std::unique_ptr<ProcessTable> makeProcessTable();

}  // namespace pmg
