// The process table's implementation class, kept by the proc connector (fork, exec, uid/gid,
// comm, exit), TASKSTATS exit records and reads of /proc. One thread owns the kernel sockets
// and applies events; lookups come from capture threads. All /proc reads happen outside the
// mutex. Its members are defined by concern:
//   process_table.cc  lifecycle (start, stop) and stats
//   table_feed.cc     the thread: the proc connector and TASKSTATS feeds, event by event
//   table_store.cc    the table itself under its mutex: scans of /proc, storing, eviction
//   table_lookup.cc   lookups from capture threads, catching up with the thread first
//
// Why an opener that exited at once is still found: the kernel queues the fork and exec
// events on our socket before the child can run its first instruction after exec, so they are
// queued before any open the child makes. A lookup that misses first checks whether the
// socket holds unprocessed events and, if so, waits (bounded) for the thread to apply them.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "../util/unique_fd.h"
#include "netlink.h"
#include "process_table.h"
#include "procfs.h"

namespace pmg {

// Key of the (pid namespace, ns tid) index.
inline uint64_t nsKey(uint32_t pid_ns, int32_t ns_tid) {
  return (static_cast<uint64_t>(pid_ns) << 32) | static_cast<uint32_t>(ns_tid);
}

class ProcessTableImpl final : public ProcessTable {
 public:
  explicit ProcessTableImpl(const ProcessTableOptions& o) : opts_(o) {}
  ~ProcessTableImpl() override { stop(); }

  void start() override;
  void stop() override;
  bool lookup(int32_t host_pid, int32_t host_tid, ProcessInfo* out) override;
  bool peek(int32_t host_tid, ProcessInfo* out) override {
    std::lock_guard<std::mutex> g(mu_);
    return baseLocked(host_tid, out);
  }
  int32_t hostPidOf(uint32_t pid_ns, int32_t ns_pid) override;
  void attribute(int32_t host_pid, int32_t host_tid, CaptureRecord* rec) override;
  std::map<std::string, uint64_t> stats() const override;

 private:
  struct Entry {
    ProcessInfo info;
    uint64_t exited_at = 0;   // monotonic ns, 0 while alive
    uint64_t updated = 0;     // monotonic ns of the last write (scan vs event ordering)
    uint64_t touched = 0;     // monotonic ns of the last lookup (eviction order)
    bool has_data = false;    // false: only an exit was seen (tombstone)
    bool final_comm = false;  // comm/uid came from the TASKSTATS exit record
    uint64_t exec_at = 0;     // monotonic ns of its last exec (thread-group leaders)
  };
  enum class Found { kMiss, kTable, kProc, kGone };

  Found find(int32_t pid, int32_t tid, ProcessInfo* out);
  bool copyLocked(int32_t pid, int32_t tid, ProcessInfo* out);
  bool pending() const;
  bool syncWithThread();

  void run();
  template <typename Fn>
  bool drain(const UniqueFd& fd, Fn on_datagram);
  void drainConnector();
  void drainTaskstats();
  static void onEventThunk(void* self, const proc_event& ev) {
    static_cast<ProcessTableImpl*>(self)->onEvent(ev);
  }
  void onEvent(const proc_event& ev);
  void onFork(int32_t parent_pid, int32_t parent_tgid, int32_t child_pid, int32_t child_tgid);
  void onExec(int32_t pid, int32_t tgid);
  void onExit(int32_t pid, int32_t tgid);
  void onTaskExit(const netlink::TaskExit& e);
  void scan(bool mark_missing);
  void sweep(uint64_t now);

  // Under mu_.
  bool baseLocked(int32_t tid, ProcessInfo* out) const;
  Entry& putLocked(const ProcessInfo& info, uint64_t now);
  void eraseLocked(std::unordered_map<int32_t, Entry>::iterator it);
  void enforceCapLocked();
  void markExitedLocked(Entry& e, uint64_t now);

  void resolveNsPpid(ProcessInfo* info);
  void countFailed(procfs::ReadResult r) {
    ++(r == procfs::ReadResult::kError ? proc_read_errors_ : proc_read_gone_);
  }
  void deriveNsIds(const ProcessInfo& base, bool thread, int32_t host_ppid,
                   ProcessInfo* info) const;
  void readAndStore(int32_t pid, int32_t tid, const ProcessInfo* base, uint64_t scan_start);

  const ProcessTableOptions opts_;
  mutable std::mutex mu_;
  std::unordered_map<int32_t, Entry> tasks_;        // by host tid
  std::unordered_map<uint64_t, int32_t> ns_index_;  // (pid_ns, ns tid) -> host tid
  std::mutex lifecycle_mu_;
  std::thread thread_;
  UniqueFd conn_fd_, ts_fd_, wake_fd_;
  uint16_t ts_family_ = 0;
  uint32_t own_pid_ns_ = 0;
  std::atomic<bool> running_{false}, stopping_{false}, in_pass_{false};
  bool need_rescan_ = false;              // thread only
  std::vector<char> rxbuf_;               // thread only
  std::vector<netlink::TaskExit> exits_;  // thread only

  std::mutex gen_mu_;
  std::condition_variable gen_cv_;
  uint64_t gen_ = 0;  // passes completed by the thread
  bool ready_ = false;

  std::atomic<uint64_t> connector_events_{0}, connector_overflows_{0}, taskstats_events_{0},
      taskstats_overflows_{0}, proc_reads_{0}, proc_read_gone_{0}, proc_read_errors_{0}, misses_{0},
      lookups_{0}, syncs_{0}, sync_timeouts_{0}, refreshes_{0}, evicted_{0}, rescans_{0},
      ns_misses_{0}, recv_errors_{0}, found_exited_{0};
  std::atomic<bool> taskstats_on_{false};
  // The kernel reported the fork of our own thread: events do reach us. The proc connector
  // only speaks to the initial network namespace; inside another one it is silent.
  std::atomic<bool> connector_verified_{false};
  std::atomic<int32_t> thread_tid_{0};
  int32_t own_pid_ = 0;
};

}  // namespace pmg
