// The process table's thread: it sleeps in poll() on the proc connector, the TASKSTATS socket
// and a wake-up eventfd, applies every fork, exec, id, comm and exit event and every TASKSTATS
// exit record, rescans /proc after a loss, and sweeps exited entries.
#include <errno.h>
#include <linux/netlink.h>
#include <poll.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "../util/clock.h"
#include "process_table_impl.h"

namespace pmg {

namespace {

// Start of a task that exits now and ran `elapsed_us`, in ns since boot, rounded down to clock
// ticks like field 22 of /proc/<pid>/stat (what a live read would have given).
uint64_t startFromElapsed(uint64_t elapsed_us) {
  uint64_t now = elapsed_us == 0 ? 0 : boottimeNs();
  if (now == 0) return 0;
  uint64_t elapsed = elapsed_us * 1000ull;
  if (elapsed >= now) return 0;
  uint64_t tick = procfs::ticksToNs(1);
  return (now - elapsed) / tick * tick;
}

}  // namespace

void ProcessTableImpl::run() {
  thread_tid_ = static_cast<int32_t>(gettid());
  pthread_setname_np(pthread_self(), "pmg-proctable");  // best effort; shows in task/*/comm
  if (opts_.thread_nice != 0 &&
      setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), opts_.thread_nice) != 0) {
    ++recv_errors_;  // EPERM without CAP_SYS_NICE: runs at the default priority
  }
  scan(false);
  {
    std::lock_guard<std::mutex> g(gen_mu_);
    ready_ = true;
  }
  gen_cv_.notify_all();
  // Exited entries are swept every min(1 s, grace), but not more often than every 50 ms.
  const uint64_t sweep_every =
      std::max<uint64_t>(50, std::min<uint64_t>(1000, opts_.exit_grace_ms)) * 1000000ull;
  uint64_t next_sweep = monotonicNs() + sweep_every;
  while (!stopping_) {
    pollfd fds[3] = {
        {wake_fd_.get(), POLLIN, 0}, {conn_fd_.get(), POLLIN, 0}, {ts_fd_.get(), POLLIN, 0}};
    const uint64_t before = monotonicNs();
    const int timeout_ms =
        next_sweep > before ? static_cast<int>((next_sweep - before) / 1000000ull) + 1 : 0;
    int r = poll(fds, ts_fd_.valid() ? 3 : 2, timeout_ms);
    if (r < 0 && errno != EINTR) {
      // ENOMEM under memory pressure: counted, and a short pause so the loop cannot spin.
      ++recv_errors_;
      const timespec pause = {0, 10 * 1000 * 1000};
      nanosleep(&pause, nullptr);
    }
    if (fds[0].revents & POLLIN) {
      uint64_t v;
      if (read(wake_fd_.get(), &v, sizeof(v)) < 0 && errno != EAGAIN) ++recv_errors_;
    }
    if (stopping_) break;
    in_pass_ = true;
    drainConnector();
    if (ts_fd_.valid()) drainTaskstats();
    if (need_rescan_) {
      need_rescan_ = false;
      ++rescans_;
      scan(true);
    }
    in_pass_ = false;
    {
      std::lock_guard<std::mutex> g(gen_mu_);
      ++gen_;
    }
    gen_cv_.notify_all();
    uint64_t now = monotonicNs();
    if (now >= next_sweep) {
      next_sweep = now + sweep_every;
      sweep(now);
    }
  }
  // Wake any lookup still waiting for a pass.
  {
    std::lock_guard<std::mutex> g(gen_mu_);
    gen_ += 2;
  }
  gen_cv_.notify_all();
}

// Reads datagrams from the kernel until the socket is empty. Bounded, so a flood cannot keep
// waiters from seeing a completed pass forever. Returns false if the kernel dropped messages
// (ENOBUFS: our receive queue overflowed).
template <typename Fn>
bool ProcessTableImpl::drain(const UniqueFd& fd, Fn on_datagram) {
  bool complete = true;
  for (int i = 0; i < 4096; ++i) {
    sockaddr_nl from = {};
    socklen_t fl = sizeof(from);
    ssize_t n = recvfrom(fd.get(), rxbuf_.data(), rxbuf_.size(), 0,
                         reinterpret_cast<sockaddr*>(&from), &fl);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == ENOBUFS) {
        complete = false;
        continue;
      }
      ++recv_errors_;
      break;
    }
    if (from.nl_pid != 0) continue;  // only the kernel speaks on these sockets
    on_datagram(static_cast<size_t>(n));
  }
  return complete;
}

void ProcessTableImpl::drainConnector() {
  bool complete = drain(conn_fd_, [this](size_t n) {
    netlink::parseProcEvents(rxbuf_.data(), n, &onEventThunk, this);
  });
  if (!complete) {  // events were lost: rebuild from /proc
    ++connector_overflows_;
    need_rescan_ = true;
  }
}

void ProcessTableImpl::drainTaskstats() {
  bool complete = drain(ts_fd_, [this](size_t n) {
    exits_.clear();
    netlink::parseTaskstats(rxbuf_.data(), n, ts_family_, &exits_);
    for (const auto& e : exits_) onTaskExit(e);
  });
  if (!complete) ++taskstats_overflows_;
}

void ProcessTableImpl::onEvent(const proc_event& ev) {
  ++connector_events_;
  const auto& d = ev.event_data;
  switch (ev.what) {
    case proc_event::PROC_EVENT_FORK:
      onFork(d.fork.parent_pid, d.fork.parent_tgid, d.fork.child_pid, d.fork.child_tgid);
      break;
    case proc_event::PROC_EVENT_EXEC:
      onExec(d.exec.process_pid, d.exec.process_tgid);
      break;
    case proc_event::PROC_EVENT_UID:
    case proc_event::PROC_EVENT_GID: {
      std::lock_guard<std::mutex> g(mu_);
      auto it = tasks_.find(d.id.process_pid);
      if (it == tasks_.end()) break;
      // Real ids (see process_table.h).
      if (ev.what == proc_event::PROC_EVENT_UID) {
        it->second.info.uid = d.id.r.ruid;
      } else {
        it->second.info.gid = d.id.r.rgid;
      }
      it->second.updated = monotonicNs();
      break;
    }
    case proc_event::PROC_EVENT_COMM: {
      std::lock_guard<std::mutex> g(mu_);
      auto it = tasks_.find(d.comm.process_pid);
      if (it == tasks_.end()) break;
      it->second.info.comm.assign(d.comm.comm, strnlen(d.comm.comm, sizeof(d.comm.comm)));
      it->second.updated = monotonicNs();
      break;
    }
    case proc_event::PROC_EVENT_EXIT:
      onExit(d.exit.process_pid, d.exit.process_tgid);
      break;
    default:
      break;
  }
}

void ProcessTableImpl::onFork(int32_t parent_pid, int32_t parent_tgid, int32_t child_pid,
                              int32_t child_tgid) {
  const bool thread = child_pid != child_tgid;
  if (child_tgid == own_pid_ && child_pid == thread_tid_) connector_verified_ = true;
  ProcessInfo base;
  bool have_base;
  {
    std::lock_guard<std::mutex> g(mu_);
    // A thread shares its process's fields; a process starts as a copy of its parent.
    have_base = thread ? baseLocked(child_tgid, &base)
                       : (baseLocked(parent_pid, &base) || baseLocked(parent_tgid, &base));
  }
  ProcessInfo info = have_base ? base : ProcessInfo{};
  ++proc_reads_;
  procfs::ReadResult r =
      procfs::readTask(child_tgid, child_pid,
                       !have_base ? procfs::Fields::kAll
                                  : (thread ? procfs::Fields::kThread : procfs::Fields::kForked),
                       &info);
  if (r == procfs::ReadResult::kGone || r == procfs::ReadResult::kError) {
    // Exited before we could read it: what it inherited is the best we have.
    countFailed(r);
    info = have_base ? base : ProcessInfo{};
    info.host_pid = child_tgid;
    info.host_tid = child_pid;
    info.thread_start_ns = 0;
    if (!thread) info.host_ppid = parent_tgid;
    deriveNsIds(base, thread, parent_tgid, &info);
  } else if (r == procfs::ReadResult::kZombie && have_base && !thread) {
    info.exe = base.exe;  // zombies have no exe/ns links; until exec they equal the parent's
    info.mnt_ns = base.mnt_ns;
    info.pid_ns = base.pid_ns;
    info.cgroup_id = base.cgroup_id;
    info.container_id = base.container_id;
  }
  resolveNsPpid(&info);
  uint64_t now = monotonicNs();
  std::lock_guard<std::mutex> g(mu_);
  auto it = tasks_.find(child_pid);
  // The TASKSTATS record of a child that already exited can be applied before its fork event
  // (two sockets): keep the name and ids it gave, and that it exited.
  if (it != tasks_.end() && it->second.final_comm && it->second.exited_at != 0 &&
      now - it->second.exited_at < 1000000000ull && it->second.info.host_ppid == parent_tgid) {
    ProcessInfo tail = it->second.info;
    Entry& e = putLocked(info, now);
    e.info.comm = tail.comm;
    e.info.uid = tail.uid;
    e.info.gid = tail.gid;
    e.final_comm = true;
    markExitedLocked(e, now);
    return;
  }
  Entry& e = putLocked(info, now);
  e.has_data = have_base || r == procfs::ReadResult::kOk || r == procfs::ReadResult::kZombie;
  if (r == procfs::ReadResult::kZombie) markExitedLocked(e, now);
}

void ProcessTableImpl::onExec(int32_t pid, int32_t tgid) {
  ProcessInfo info;
  ++proc_reads_;
  procfs::ReadResult r = procfs::readTask(tgid, pid, procfs::Fields::kAll, &info);
  if (r == procfs::ReadResult::kOk) resolveNsPpid(&info);
  uint64_t now = monotonicNs();
  std::lock_guard<std::mutex> g(mu_);
  if (r == procfs::ReadResult::kOk) {
    Entry& e = putLocked(info, now);
    e.has_data = true;
    e.exec_at = now;
    return;
  }
  countFailed(r);
  // Exited right after exec (or, rarely, /proc could not be read: kError). What the fork left is
  // stale now: drop the old program's name and path rather than report them; keep pids, ids,
  // namespaces and cgroup (exec keeps those).
  auto it = tasks_.find(pid);
  if (it == tasks_.end()) {
    if (r != procfs::ReadResult::kZombie) return;
    Entry& e = putLocked(info, now);
    e.has_data = true;
    markExitedLocked(e, now);
    return;
  }
  Entry& e = it->second;
  const bool named_at_exit = e.final_comm;  // its TASKSTATS record came first: post-exec data
  if (r == procfs::ReadResult::kZombie) {
    e.info.comm = info.comm;  // a zombie still has its post-exec comm and ids
    e.info.uid = info.uid;
    e.info.gid = info.gid;
    e.final_comm = true;
    markExitedLocked(e, now);
  } else if (!named_at_exit) {
    e.info.comm.clear();
  }
  // Read before it vanished, or empty: never the pre-exec program.
  if (!named_at_exit || !info.exe.empty()) e.info.exe = info.exe;
  e.updated = now;
}

void ProcessTableImpl::onExit(int32_t pid, int32_t tgid) {
  uint64_t now = monotonicNs();
  std::lock_guard<std::mutex> g(mu_);
  auto it = tasks_.find(pid);
  if (it != tasks_.end()) {
    markExitedLocked(it->second, now);
    return;
  }
  // Tombstone: keeps a racing /proc scan from resurrecting it.
  ProcessInfo info;
  info.host_pid = tgid;
  info.host_tid = pid;
  Entry& e = putLocked(info, now);
  e.has_data = false;
  markExitedLocked(e, now);
}

void ProcessTableImpl::onTaskExit(const netlink::TaskExit& x) {
  ++taskstats_events_;
  if (x.pid <= 0) return;
  uint64_t now = monotonicNs();
  std::lock_guard<std::mutex> g(mu_);
  auto it = tasks_.find(x.pid);
  if (it != tasks_.end() && (x.tgid == 0 || it->second.info.host_pid == x.tgid)) {
    Entry& e = it->second;
    e.info.comm = x.comm;
    e.info.uid = x.uid;
    e.info.gid = x.gid;
    if (x.tgid == x.pid || x.tgid == 0) e.info.host_ppid = x.ppid;
    e.info.exe_dev = x.exe_dev;
    e.info.exe_ino = x.exe_ino;
    if (e.info.exe.empty()) e.info.exe = procfs::exePathOf(x.exe_dev, x.exe_ino);
    if (e.info.thread_start_ns == 0) e.info.thread_start_ns = startFromElapsed(x.elapsed_us);
    e.final_comm = true;
    e.has_data = true;
    markExitedLocked(e, now);
    e.updated = now;
    return;
  }
  // Unknown task (its fork was never applied): build it from the record and its parent.
  ProcessInfo info;
  ProcessInfo parent;
  const int32_t tgid = x.tgid > 0 ? x.tgid : x.pid;
  const bool thread = tgid != x.pid;
  if (baseLocked(thread ? tgid : x.ppid, &parent)) {
    info = parent;
    info.exe.clear();  // it may have exec'd; its name below is the one it had at exit
    info.thread_start_ns = 0;
  }
  info.host_pid = tgid;
  info.host_tid = x.pid;
  deriveNsIds(parent, thread, x.ppid, &info);
  if (!thread) info.host_ppid = x.ppid;
  info.comm = x.comm;
  info.uid = x.uid;
  info.gid = x.gid;
  info.exe_dev = x.exe_dev;
  info.exe_ino = x.exe_ino;
  info.exe = procfs::exePathOf(x.exe_dev, x.exe_ino);
  info.thread_start_ns = startFromElapsed(x.elapsed_us);
  Entry& e = putLocked(info, now);
  e.has_data = true;
  e.final_comm = true;
  markExitedLocked(e, now);
}

}  // namespace pmg
