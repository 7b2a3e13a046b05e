// Lookups from capture threads. A lookup first catches up with the table's thread when events
// sit unprocessed in its sockets (a fork or exec not applied yet), so that a hit is never older
// than the open being attributed; a miss reads /proc, and a task that is gone waits (bounded)
// for its exit records.
#include <poll.h>
#include <unistd.h>

#include <chrono>

#include "../util/clock.h"
#include "../util/fixed_string.h"
#include "process_table_impl.h"

namespace pmg {

bool ProcessTableImpl::pending() const {
  if (!running_) return false;
  if (in_pass_) return true;
  pollfd fds[2] = {{conn_fd_.get(), POLLIN, 0}, {ts_fd_.get(), POLLIN, 0}};
  int r = poll(fds, ts_fd_.valid() ? 2 : 1, 0);
  return r > 0;
}

// Waits until the thread has completed two passes from now: the second one starts after this
// call, so it applies every event queued before it. False if it did not within the timeout.
bool ProcessTableImpl::syncWithThread() {
  if (!running_) return false;
  ++syncs_;
  std::unique_lock<std::mutex> g(gen_mu_);
  const uint64_t target = gen_ + 2;
  uint64_t one = 1;
  if (write(wake_fd_.get(), &one, sizeof(one)) != sizeof(one)) {
    // EAGAIN only if the counter is saturated: the thread is awake anyway.
  }
  if (!gen_cv_.wait_for(g, std::chrono::milliseconds(opts_.sync_timeout_ms),
                        [&] { return gen_ >= target; })) {
    ++sync_timeouts_;
    return false;
  }
  return true;
}

bool ProcessTableImpl::copyLocked(int32_t pid, int32_t tid, ProcessInfo* out) {
  auto it = tasks_.find(tid);
  if (it == tasks_.end() || !it->second.has_data) return false;
  if (pid > 0 && it->second.info.host_pid != pid) return false;
  it->second.touched = monotonicNs();
  *out = it->second.info;
  return true;
}

ProcessTableImpl::Found ProcessTableImpl::find(int32_t pid, int32_t tid, ProcessInfo* out) {
  if (tid <= 0) tid = pid;
  if (tid <= 0) return Found::kMiss;
  ++lookups_;
  // Events about this task may still sit in the socket (a fork or exec the thread has not
  // applied yet): catch up first, so a hit is never older than the open being attributed.
  const bool caught_up = !pending() || syncWithThread();
  bool hit;
  {
    std::lock_guard<std::mutex> g(mu_);
    hit = copyLocked(pid, tid, out);
    if (hit && out->exited) {
      ++found_exited_;
      return Found::kGone;
    }
  }
  if (hit && !opts_.refresh_live && caught_up) return Found::kTable;
  // A live task: re-read what no event reports (setns/unshare without exec, a move to another
  // cgroup). A miss, or a hit the thread could not bring up to date in time (a loaded host:
  // its exec may still be queued, and the entry still names the program before it): read
  // everything.
  const bool full = !hit || !caught_up;
  ProcessInfo info = hit ? *out : ProcessInfo{};
  ++proc_reads_;
  procfs::ReadResult r = full ? procfs::readTask(pid, tid, procfs::Fields::kAll, &info)
                              : procfs::readVolatile(pid, tid, &info);
  if (r == procfs::ReadResult::kOk) {
    if (full) resolveNsPpid(&info);
    std::lock_guard<std::mutex> g(mu_);
    auto it = tasks_.find(tid);
    if (hit) {
      Entry* e = it == tasks_.end() ? nullptr : &it->second;
      if (e != nullptr && e->exited_at == 0 && e->info.thread_start_ns == info.thread_start_ns &&
          (e->info.mnt_ns != info.mnt_ns || e->info.pid_ns != info.pid_ns ||
           e->info.cgroup_id != info.cgroup_id)) {
        ++refreshes_;
        e->info.mnt_ns = info.mnt_ns;
        e->info.pid_ns = info.pid_ns;
        e->info.cgroup_id = info.cgroup_id;
        e->info.container_id = info.container_id;
      }
    } else if (it == tasks_.end() || !it->second.has_data || it->second.exited_at == 0) {
      putLocked(info, monotonicNs()).has_data = true;
    }
    *out = info;
    return hit ? Found::kTable : Found::kProc;
  }
  countFailed(r);
  if (r == procfs::ReadResult::kError) {  // says nothing about the task: keep what we know
    if (hit) return Found::kTable;
    ++misses_;
    return Found::kMiss;
  }
  // Gone (or a zombie). A known task: its exit and TASKSTATS record are queued by now; apply
  // them. An unknown one: its fork and exec events (sent before it could open anything) are
  // queued unless they were applied already; while events are queued, keep applying them (up
  // to miss_wait_ms) until it shows up. Nothing queued: the miss is final.
  const uint64_t deadline = monotonicNs() + opts_.miss_wait_ms * 1000000ull;
  for (bool first = true; first || (pending() && monotonicNs() < deadline); first = false) {
    if (!hit && !pending()) break;
    syncWithThread();
    std::lock_guard<std::mutex> g(mu_);
    if (copyLocked(pid, tid, out)) {
      ++found_exited_;
      out->exited = true;
      return Found::kGone;
    }
  }
  if (r == procfs::ReadResult::kZombie) {
    info.exited = true;
    *out = info;
    return Found::kGone;
  }
  ++misses_;
  return Found::kMiss;
}

bool ProcessTableImpl::lookup(int32_t host_pid, int32_t host_tid, ProcessInfo* out) {
  return find(host_pid, host_tid, out) != Found::kMiss;
}

int32_t ProcessTableImpl::hostPidOf(uint32_t pid_ns, int32_t ns_pid) {
  if (ns_pid <= 0) return 0;
  if (pid_ns != 0 && pid_ns == own_pid_ns_) return ns_pid;
  if (pending()) syncWithThread();
  std::lock_guard<std::mutex> g(mu_);
  auto ix = ns_index_.find(nsKey(pid_ns, ns_pid));
  if (ix == ns_index_.end()) {
    ++ns_misses_;
    return 0;
  }
  return ix->second;
}

void ProcessTableImpl::attribute(int32_t host_pid, int32_t host_tid, CaptureRecord* rec) {
  ProcessInfo info;
  Found f = find(host_pid, host_tid, &info);
  rec->host_pid = host_pid;
  rec->host_tid = host_tid > 0 ? host_tid : host_pid;
  if (f == Found::kMiss) {
    rec->record_flags |= kAttributionMissing;
    return;
  }
  rec->host_pid = info.host_pid;
  rec->host_tid = info.host_tid;
  rec->host_ppid = info.host_ppid;
  rec->ns_pid = info.ns_pid;
  rec->ns_tid = info.ns_tid;
  rec->ns_ppid = info.ns_ppid;
  rec->uid = info.uid;
  rec->gid = info.gid;
  rec->mnt_ns = info.mnt_ns;
  rec->pid_ns = info.pid_ns;
  rec->cgroup_id = info.cgroup_id;
  rec->thread_start_ns = info.thread_start_ns;
  bool fits = copyFixed(rec->comm, info.comm);
  // The exec's path may have reached the exe cache (fanotify FAN_OPEN_EXEC, read by the
  // calling thread before this event) after the exit record was applied.
  fits &= copyFixed(rec->exe, procfs::exeOf(info));
  fits &= copyFixed(rec->container_id, info.container_id);
  if (!fits) rec->record_flags |= kPathTruncated;
  if (f == Found::kGone || info.exited) rec->record_flags |= kOpenerExited;
}

}  // namespace pmg
