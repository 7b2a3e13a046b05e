// Process table: who is who on the host, kept current by the proc connector (fork, exec,
// comm change, exit) and by reads of /proc, so that an opener that opened, closed and exited
// before its event was read can still be attributed. Shared by every capture backend.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

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
  // The exe's file as TASKSTATS named it at exit: resolves `exe` later if it was unknown then.
  uint64_t exe_dev = 0, exe_ino = 0;
  bool exited = false;  // entry kept after exit for late events
};
// uid/gid are the REAL ids (first column of Uid:/Gid: in /proc/<pid>/status, `ruid` of
// PROC_EVENT_UID), like Tracee's `userId`, which comes from bpf_get_current_uid_gid()
// (current_cred()->uid, the real uid).

class ProcessTable {
 public:
  virtual ~ProcessTable() = default;
  // Subscribes to the proc connector and scans /proc. Throws CaptureError on failure.
  virtual void start() = 0;
  virtual void stop() = 0;
  // Fills `out` for the thread `host_tid` (thread-group `host_pid`, 0 if unknown). Reads /proc
  // on a miss. Returns false if nothing is known. Thread-safe.
  virtual bool lookup(int32_t host_pid, int32_t host_tid, ProcessInfo* out) = 0;
  // What the table holds for the task `host_tid` now: no /proc read, no wait for the table
  // thread, no refresh (cheap enough to walk a parent chain). False if it holds nothing.
  // Thread-safe.
  virtual bool peek(int32_t /*host_tid*/, ProcessInfo* /*out*/) { return false; }
  // Host pid of the process that is `ns_pid` in pid namespace `pid_ns`, or 0 if unknown.
  virtual int32_t hostPidOf(uint32_t pid_ns, int32_t ns_pid) = 0;
  // Fills the attribution fields of `rec` (pids, uid, comm, exe, namespaces, cgroup,
  // container, thread start) for the opener; sets kOpenerExited/kAttributionMissing.
  virtual void attribute(int32_t host_pid, int32_t host_tid, CaptureRecord* rec) = 0;
  // Counters: entries, exited_entries, connector_events, connector_overflows (ENOBUFS),
  // proc_reads, misses, ...; connector_verified is 1 once the kernel reported the fork of the
  // table's own thread (0: no events arrive, e.g. in a non-initial network namespace: only
  // /proc reads attribute then). Thread-safe.
  virtual std::map<std::string, uint64_t> stats() const = 0;
};

struct ProcessTableOptions {
  uint64_t exit_grace_ms = 10000;  // exited entries are kept this long, then evicted
  // Cap; exited entries are evicted first, then the oldest. ~300 bytes an entry: 128k entries
  // bound the table near 40 MB even on a host with an unusual number of live tasks.
  size_t max_entries = 131072;
  uint32_t sync_timeout_ms = 50;  // how long a lookup waits for the connector to catch up
  // How long, in all, a lookup of a task that is gone and not yet in the table keeps waiting
  // while events are still queued (the table thread lags behind a fork storm).
  uint32_t miss_wait_ms = 250;
  bool taskstats = true;  // also listen to TASKSTATS exit records (names at exit)
  // On a lookup of a live task, re-read its namespaces and cgroup: catches setns/unshare
  // without exec and cgroup moves, which no proc connector event reports.
  bool refresh_live = true;
  int receive_buffer_bytes = 8 << 20;  // kernel socket queues; beyond them events are lost
  // Nice value of the table thread (setpriority on its tid; needs CAP_SYS_NICE below 0). The
  // sooner it runs after a fork or exec, the more short-lived children it reads in time.
  int thread_nice = -10;
};

std::unique_ptr<ProcessTable> makeProcessTable();
std::unique_ptr<ProcessTable> makeProcessTable(const ProcessTableOptions& options);

// Container id (64 hex) from a cgroup path (docker, containerd/cri, cri-o, podman), or "".
std::string containerIdFromCgroup(std::string_view cgroup_path);

}  // namespace pmg
