// The process table itself, under its mutex: reading /proc into it (the first scan, and a
// rescan after lost events), storing and evicting entries, the (pid namespace, ns tid) index,
// and the namespace ids of a task that could not be read.
#include <stdio.h>

#include <algorithm>

#include "../util/clock.h"
#include "process_table_impl.h"

namespace pmg {

// Reads one task for a scan of /proc and stores it. An entry written after the scan started
// (by an event or a lookup) is fresher and wins; an exit seen after it started is not undone.
void ProcessTableImpl::readAndStore(int32_t pid, int32_t tid, const ProcessInfo* base,
                                    uint64_t scan_start) {
  ProcessInfo info = base ? *base : ProcessInfo{};
  ++proc_reads_;
  procfs::ReadResult r =
      procfs::readTask(pid, tid, base ? procfs::Fields::kThread : procfs::Fields::kAll, &info);
  if (r == procfs::ReadResult::kGone || r == procfs::ReadResult::kError) {
    countFailed(r);
    return;
  }
  resolveNsPpid(&info);
  uint64_t now = monotonicNs();
  std::lock_guard<std::mutex> g(mu_);
  auto it = tasks_.find(tid);
  if (it != tasks_.end()) {
    Entry& old = it->second;
    if (old.exited_at != 0 && old.exited_at >= scan_start) {
      if (!old.has_data) {  // fill the tombstone, keep it exited
        old.info = info;
        old.info.exited = true;
        old.has_data = true;
      }
      return;
    }
    if (old.updated >= scan_start) return;
  }
  Entry& e = putLocked(info, now);
  e.has_data = true;
  if (r == procfs::ReadResult::kZombie) markExitedLocked(e, now);
}

void ProcessTableImpl::scan(bool mark_missing) {
  const uint64_t start = monotonicNs();
  procfs::forEachPid("/proc", [&](int32_t pid) {
    readAndStore(pid, pid, nullptr, start);
    ProcessInfo leader;
    {
      std::lock_guard<std::mutex> g(mu_);
      if (!baseLocked(pid, &leader)) return;
    }
    char path[48];
    snprintf(path, sizeof(path), "/proc/%d/task", pid);
    procfs::forEachPid(path, [&](int32_t tid) {
      if (tid != pid) readAndStore(pid, tid, &leader, start);
    });
  });
  if (!mark_missing) return;
  // After a loss of events: whatever the scan did not see has exited meanwhile.
  uint64_t now = monotonicNs();
  std::lock_guard<std::mutex> g(mu_);
  for (auto& kv : tasks_) {
    if (kv.second.exited_at == 0 && kv.second.updated < start) markExitedLocked(kv.second, now);
  }
}

void ProcessTableImpl::sweep(uint64_t now) {
  const uint64_t grace = opts_.exit_grace_ms * 1000000ull;
  std::lock_guard<std::mutex> g(mu_);
  for (auto it = tasks_.begin(); it != tasks_.end();) {
    auto next = std::next(it);
    Entry& e = it->second;
    if (e.exited_at == 0 && e.info.host_tid != e.info.host_pid) {
      // exec ends every other thread; the one that exec'd takes the leader's tid and its old
      // tid gets no exit event. A thread recorded before its leader's exec is gone.
      auto leader = tasks_.find(e.info.host_pid);
      if (leader != tasks_.end() && leader->second.exec_at > e.updated) markExitedLocked(e, now);
    } else if (e.exited_at != 0 && now - e.exited_at >= grace) {
      eraseLocked(it);
    }
    it = next;
  }
}

bool ProcessTableImpl::baseLocked(int32_t tid, ProcessInfo* out) const {
  auto it = tasks_.find(tid);
  if (it == tasks_.end() || !it->second.has_data) return false;
  *out = it->second.info;
  return true;
}

void ProcessTableImpl::markExitedLocked(Entry& e, uint64_t now) {
  if (e.exited_at == 0) e.exited_at = now;
  e.info.exited = true;
}

ProcessTableImpl::Entry& ProcessTableImpl::putLocked(const ProcessInfo& info, uint64_t now) {
  auto it = tasks_.find(info.host_tid);
  if (it == tasks_.end()) {
    if (tasks_.size() >= opts_.max_entries) enforceCapLocked();
    it = tasks_.emplace(info.host_tid, Entry{}).first;
  } else if (it->second.info.pid_ns != 0) {
    auto ix = ns_index_.find(nsKey(it->second.info.pid_ns, it->second.info.ns_tid));
    if (ix != ns_index_.end() && ix->second == info.host_tid) ns_index_.erase(ix);
  }
  Entry& e = it->second;
  e.info = info;
  e.info.exited = false;
  e.exited_at = 0;
  e.final_comm = false;
  e.exec_at = 0;
  e.updated = now;
  e.touched = now;
  if (info.pid_ns != 0 && info.ns_tid > 0)
    ns_index_[nsKey(info.pid_ns, info.ns_tid)] = info.host_tid;
  return e;
}

void ProcessTableImpl::eraseLocked(std::unordered_map<int32_t, Entry>::iterator it) {
  const ProcessInfo& i = it->second.info;
  if (i.pid_ns != 0) {
    auto ix = ns_index_.find(nsKey(i.pid_ns, i.ns_tid));
    if (ix != ns_index_.end() && ix->second == i.host_tid) ns_index_.erase(ix);
  }
  tasks_.erase(it);
  ++evicted_;
}

// Evicts down to 90% of the cap: exited entries first (oldest exit first), then the live
// entries used least recently (a later lookup reads them back from /proc).
void ProcessTableImpl::enforceCapLocked() {
  const size_t target = opts_.max_entries - opts_.max_entries / 10;
  std::vector<std::pair<uint64_t, int32_t>> order;  // (rank, tid); exited rank below live
  order.reserve(tasks_.size());
  for (const auto& kv : tasks_) {
    const Entry& e = kv.second;
    uint64_t rank = e.exited_at != 0 ? e.exited_at >> 1 : (1ull << 63) | (e.touched >> 1);
    order.emplace_back(rank, kv.first);
  }
  size_t drop = tasks_.size() > target ? tasks_.size() - target : 0;
  if (drop == 0) drop = 1;
  drop = std::min(drop, order.size());
  std::nth_element(order.begin(), order.begin() + static_cast<long>(drop - 1), order.end());
  for (size_t i = 0; i < drop; ++i) {
    auto it = tasks_.find(order[i].second);
    if (it != tasks_.end()) eraseLocked(it);
  }
}

// ns ids of a task that could not be read (info->host_pid/host_tid set), from `base`: its
// thread-group leader for a thread, its parent for a process (empty if unknown). In our own
// pid namespace they equal the host ids; a thread shares its leader's ns pid and ppid.
void ProcessTableImpl::deriveNsIds(const ProcessInfo& base, bool thread, int32_t host_ppid,
                                   ProcessInfo* info) const {
  if (base.pid_ns != 0 && base.pid_ns == own_pid_ns_) {
    info->ns_pid = info->host_pid;
    info->ns_tid = info->host_tid;
    info->ns_ppid = thread ? base.ns_ppid : host_ppid;
  } else if (thread) {
    info->ns_pid = base.ns_pid;
    info->ns_tid = 0;
    info->ns_ppid = base.ns_ppid;
  } else {
    info->ns_pid = info->ns_tid = info->ns_ppid = 0;
  }
}

// ns_ppid of a task in a non-initial pid namespace: the parent's ns pid if the parent is in
// the same namespace, else 0 (the parent is outside: getppid() returns 0 there too).
void ProcessTableImpl::resolveNsPpid(ProcessInfo* info) {
  if (info->ns_ppid != 0 || info->host_ppid <= 0 || info->pid_ns == 0 ||
      info->pid_ns == own_pid_ns_) {
    return;
  }
  ProcessInfo parent;
  bool have;
  {
    std::lock_guard<std::mutex> g(mu_);
    have = baseLocked(info->host_ppid, &parent);
  }
  if (!have) {
    ++proc_reads_;
    if (procfs::readTask(info->host_ppid, info->host_ppid, procfs::Fields::kAll, &parent) !=
        procfs::ReadResult::kOk) {
      return;
    }
  }
  if (parent.pid_ns == info->pid_ns) info->ns_ppid = parent.ns_pid;
}

}  // namespace pmg
