// ProcessTable kept by the proc connector (fork, exec, uid/gid, comm, exit), TASKSTATS exit
// records and reads of /proc. One thread owns the kernel sockets and applies events; lookups
// come from capture threads. All /proc reads happen outside the mutex.
//
// Why an opener that exited at once is still found: the kernel queues the fork and exec
// events on our socket before the child can run its first instruction after exec, so they are
// queued before any open the child makes. A lookup that misses first checks whether the
// socket holds unprocessed events and, if so, waits (bounded) for the thread to apply them.
#include "process_table.h"

#include <errno.h>
#include <linux/netlink.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "../backend.h"
#include "netlink.h"
#include "procfs.h"

namespace pmg {
namespace {

uint64_t monoNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// Copies `s` into a fixed field, always NUL-terminated. Returns true if it was cut.
bool copyField(char* dst, size_t cap, const std::string& s) {
  size_t n = std::min(s.size(), cap - 1);
  memcpy(dst, s.data(), n);
  memset(dst + n, 0, cap - n);
  return n < s.size();
}

// Start of a task that exits now and ran `elapsed_us`, in ns since boot, rounded down to clock
// ticks like field 22 of /proc/<pid>/stat (what a live read would have given).
uint64_t startFromElapsed(uint64_t elapsed_us) {
  timespec ts;
  if (elapsed_us == 0 || clock_gettime(CLOCK_BOOTTIME, &ts) != 0) return 0;
  uint64_t now =
      static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
  uint64_t elapsed = elapsed_us * 1000ull;
  if (elapsed >= now) return 0;
  uint64_t tick = procfs::ticksToNs(1);
  return (now - elapsed) / tick * tick;
}

uint64_t nsKey(uint32_t pid_ns, int32_t ns_tid) {
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
  void syncWithThread();

  void run();
  template <typename Fn>
  bool drain(int fd, Fn on_datagram);
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
  int conn_fd_ = -1, ts_fd_ = -1, wake_fd_ = -1;
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

// ---------------------------------------------------------------- lifecycle

void ProcessTableImpl::start() {
  std::lock_guard<std::mutex> lk(lifecycle_mu_);
  if (running_) return;
  std::string err;
  conn_fd_ = netlink::openProcConnector(opts_.receive_buffer_bytes, &err);
  if (conn_fd_ < 0) {
    const int e = errno;
    const bool perm = e == EPERM || e == EACCES;
    const char* hint = perm ? "; run as root or with CAP_NET_ADMIN"
                       : e == ECONNREFUSED
                           ? "; the kernel sends process events only to the initial network "
                             "namespace: run on the host network (docker --network host, "
                             "Kubernetes hostNetwork: true)"
                           : "";
    throw CaptureError{
        perm ? "EPERM_CAPTURE" : "INTERNAL",
        "process table: cannot subscribe to the proc connector (" + err + ")" + hint};
  }
  if (opts_.taskstats) {
    std::string ts_err;
    ts_fd_ = netlink::openTaskstats(opts_.receive_buffer_bytes, &ts_family_, &ts_err);
    taskstats_on_ = ts_fd_ >= 0;  // optional: names at exit; the table works without it
  }
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) {
    int e = errno;
    netlink::closeProcConnector(conn_fd_);
    netlink::closeTaskstats(ts_fd_, ts_family_);
    conn_fd_ = ts_fd_ = -1;
    throw CaptureError{"INTERNAL", std::string("process table: eventfd: ") + strerror(e)};
  }
  own_pid_ns_ = procfs::ownPidNs();
  own_pid_ = static_cast<int32_t>(getpid());
  connector_verified_ = false;
  thread_tid_ = 0;
  stopping_ = false;
  need_rescan_ = false;
  rxbuf_.assign(256 * 1024, 0);
  {
    std::lock_guard<std::mutex> g(gen_mu_);
    ready_ = false;
  }
  try {
    thread_ = std::thread(&ProcessTableImpl::run, this);
  } catch (const std::exception& ex) {
    netlink::closeProcConnector(conn_fd_);
    netlink::closeTaskstats(ts_fd_, ts_family_);
    close(wake_fd_);
    conn_fd_ = ts_fd_ = wake_fd_ = -1;
    throw CaptureError{"INTERNAL", std::string("process table: thread: ") + ex.what()};
  }
  running_ = true;
  // The thread scans /proc first; once that is done every process is known.
  {
    std::unique_lock<std::mutex> g(gen_mu_);
    gen_cv_.wait(g, [this] { return ready_; });
  }
  // Its own creation was a fork event: wait (bounded) until it has seen it.
  const uint64_t deadline = monoNs() + 500000000ull;
  while (!connector_verified_ && monoNs() < deadline) syncWithThread();
}

void ProcessTableImpl::stop() {
  std::lock_guard<std::mutex> lk(lifecycle_mu_);
  if (!running_) return;
  running_ = false;  // lookups from now on neither poll nor wake the thread
  stopping_ = true;
  uint64_t one = 1;
  if (write(wake_fd_, &one, sizeof(one)) != sizeof(one)) {
    // The counter cannot overflow here; the thread also re-checks stopping_ every second.
  }
  thread_.join();
  netlink::closeProcConnector(conn_fd_);
  netlink::closeTaskstats(ts_fd_, ts_family_);
  close(wake_fd_);
  conn_fd_ = ts_fd_ = wake_fd_ = -1;
  taskstats_on_ = false;
  std::vector<char>().swap(rxbuf_);
  std::vector<netlink::TaskExit>().swap(exits_);
  std::lock_guard<std::mutex> g(mu_);
  tasks_.clear();
  ns_index_.clear();
}

// ---------------------------------------------------------------- thread

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
  uint64_t next_sweep = monoNs() + sweep_every;
  while (!stopping_) {
    pollfd fds[3] = {{wake_fd_, POLLIN, 0}, {conn_fd_, POLLIN, 0}, {ts_fd_, POLLIN, 0}};
    const uint64_t before = monoNs();
    const int timeout_ms =
        next_sweep > before ? static_cast<int>((next_sweep - before) / 1000000ull) + 1 : 0;
    int r = poll(fds, ts_fd_ >= 0 ? 3 : 2, timeout_ms);
    if (r < 0 && errno != EINTR) ++recv_errors_;
    if (fds[0].revents & POLLIN) {
      uint64_t v;
      if (read(wake_fd_, &v, sizeof(v)) < 0 && errno != EAGAIN) ++recv_errors_;
    }
    if (stopping_) break;
    in_pass_ = true;
    drainConnector();
    if (ts_fd_ >= 0) drainTaskstats();
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
    uint64_t now = monoNs();
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
bool ProcessTableImpl::drain(int fd, Fn on_datagram) {
  bool complete = true;
  for (int i = 0; i < 4096; ++i) {
    sockaddr_nl from = {};
    socklen_t fl = sizeof(from);
    ssize_t n =
        recvfrom(fd, rxbuf_.data(), rxbuf_.size(), 0, reinterpret_cast<sockaddr*>(&from), &fl);
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
      it->second.updated = monoNs();
      break;
    }
    case proc_event::PROC_EVENT_COMM: {
      std::lock_guard<std::mutex> g(mu_);
      auto it = tasks_.find(d.comm.process_pid);
      if (it == tasks_.end()) break;
      it->second.info.comm.assign(d.comm.comm, strnlen(d.comm.comm, sizeof(d.comm.comm)));
      it->second.updated = monoNs();
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
  uint64_t now = monoNs();
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
  uint64_t now = monoNs();
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
  uint64_t now = monoNs();
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
  uint64_t now = monoNs();
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
  uint64_t now = monoNs();
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
  const uint64_t start = monoNs();
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
  uint64_t now = monoNs();
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

// ---------------------------------------------------------------- table (under mu_)

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

// ---------------------------------------------------------------- lookups

bool ProcessTableImpl::pending() const {
  if (!running_) return false;
  if (in_pass_) return true;
  pollfd fds[2] = {{conn_fd_, POLLIN, 0}, {ts_fd_, POLLIN, 0}};
  int r = poll(fds, ts_fd_ >= 0 ? 2 : 1, 0);
  return r > 0;
}

// Waits until the thread has completed two passes from now: the second one starts after this
// call, so it applies every event queued before it.
void ProcessTableImpl::syncWithThread() {
  if (!running_) return;
  ++syncs_;
  std::unique_lock<std::mutex> g(gen_mu_);
  const uint64_t target = gen_ + 2;
  uint64_t one = 1;
  if (write(wake_fd_, &one, sizeof(one)) != sizeof(one)) {
    // EAGAIN only if the counter is saturated: the thread is awake anyway.
  }
  if (!gen_cv_.wait_for(g, std::chrono::milliseconds(opts_.sync_timeout_ms),
                        [&] { return gen_ >= target; })) {
    ++sync_timeouts_;
  }
}

bool ProcessTableImpl::copyLocked(int32_t pid, int32_t tid, ProcessInfo* out) {
  auto it = tasks_.find(tid);
  if (it == tasks_.end() || !it->second.has_data) return false;
  if (pid > 0 && it->second.info.host_pid != pid) return false;
  it->second.touched = monoNs();
  *out = it->second.info;
  return true;
}

ProcessTableImpl::Found ProcessTableImpl::find(int32_t pid, int32_t tid, ProcessInfo* out) {
  if (tid <= 0) tid = pid;
  if (tid <= 0) return Found::kMiss;
  ++lookups_;
  // Events about this task may still sit in the socket (a fork or exec the thread has not
  // applied yet): catch up first, so a hit is never older than the open being attributed.
  if (pending()) syncWithThread();
  bool hit;
  {
    std::lock_guard<std::mutex> g(mu_);
    hit = copyLocked(pid, tid, out);
    if (hit && out->exited) {
      ++found_exited_;
      return Found::kGone;
    }
  }
  if (hit && !opts_.refresh_live) return Found::kTable;
  // A live task: re-read what no event reports (setns/unshare without exec, a move to another
  // cgroup). A miss: read everything.
  ProcessInfo info = hit ? *out : ProcessInfo{};
  ++proc_reads_;
  procfs::ReadResult r = hit ? procfs::readVolatile(pid, tid, &info)
                             : procfs::readTask(pid, tid, procfs::Fields::kAll, &info);
  if (r == procfs::ReadResult::kOk) {
    if (!hit) resolveNsPpid(&info);
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
      putLocked(info, monoNs()).has_data = true;
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
  const uint64_t deadline = monoNs() + opts_.miss_wait_ms * 1000000ull;
  for (bool first = true; first || (pending() && monoNs() < deadline); first = false) {
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
  // The exec's path may have reached the exe cache (fanotify FAN_OPEN_EXEC, read by the
  // calling thread before this event) after the exit record was applied.
  if (info.exe.empty() && info.exe_ino != 0)
    info.exe = procfs::exePathOf(info.exe_dev, info.exe_ino);
  bool cut = copyField(rec->comm, sizeof(rec->comm), info.comm);
  cut |= copyField(rec->exe, sizeof(rec->exe), info.exe);
  cut |= copyField(rec->container_id, sizeof(rec->container_id), info.container_id);
  if (cut) rec->record_flags |= kPathTruncated;
  if (f == Found::kGone || info.exited) rec->record_flags |= kOpenerExited;
}

std::map<std::string, uint64_t> ProcessTableImpl::stats() const {
  std::map<std::string, uint64_t> s;
  {
    std::lock_guard<std::mutex> g(mu_);
    uint64_t exited = 0;
    for (const auto& kv : tasks_) exited += kv.second.exited_at != 0;
    s["entries"] = tasks_.size();
    s["exited_entries"] = exited;
    s["ns_index_entries"] = ns_index_.size();
  }
  s["taskstats_enabled"] = taskstats_on_ ? 1 : 0;
  s["connector_verified"] = connector_verified_ ? 1 : 0;
  static constexpr std::pair<const char*, std::atomic<uint64_t> ProcessTableImpl::*> kCounters[] = {
      {"connector_events", &ProcessTableImpl::connector_events_},
      {"connector_overflows", &ProcessTableImpl::connector_overflows_},
      {"taskstats_events", &ProcessTableImpl::taskstats_events_},
      {"taskstats_overflows", &ProcessTableImpl::taskstats_overflows_},
      {"proc_reads", &ProcessTableImpl::proc_reads_},
      {"proc_reads_gone", &ProcessTableImpl::proc_read_gone_},
      {"proc_read_errors", &ProcessTableImpl::proc_read_errors_},
      {"lookups", &ProcessTableImpl::lookups_},
      {"misses", &ProcessTableImpl::misses_},
      {"found_exited", &ProcessTableImpl::found_exited_},
      {"syncs", &ProcessTableImpl::syncs_},
      {"sync_timeouts", &ProcessTableImpl::sync_timeouts_},
      {"refreshes", &ProcessTableImpl::refreshes_},
      {"evicted", &ProcessTableImpl::evicted_},
      {"rescans", &ProcessTableImpl::rescans_},
      {"ns_misses", &ProcessTableImpl::ns_misses_},
      {"recv_errors", &ProcessTableImpl::recv_errors_},
  };
  for (const auto& c : kCounters) s[c.first] = (this->*c.second).load(std::memory_order_relaxed);
  return s;
}

}  // namespace

std::unique_ptr<ProcessTable> makeProcessTable() { return makeProcessTable(ProcessTableOptions{}); }

std::unique_ptr<ProcessTable> makeProcessTable(const ProcessTableOptions& options) {
  return std::make_unique<ProcessTableImpl>(options);
}

}  // namespace pmg
