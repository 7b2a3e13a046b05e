// The process table's lifecycle: subscribing to the kernel feeds, the first scan, the
// thread, and stopping; and its counters.
#include "process_table.h"

#include <errno.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstring>

#include "../backend.h"
#include "../util/clock.h"
#include "process_table_impl.h"

namespace pmg {

void ProcessTableImpl::start() {
  std::lock_guard<std::mutex> lk(lifecycle_mu_);
  if (running_) return;
  std::string err;
  conn_fd_ = netlink::openProcConnector(opts_.receive_buffer_bytes, &err);
  if (!conn_fd_.valid()) {
    const int e = errno;
    const bool perm = e == EPERM || e == EACCES;
    const char* hint = perm ? "; run as root or with CAP_NET_ADMIN"
                       : e == ECONNREFUSED
                           ? "; the kernel sends process events only to the initial network "
                             "namespace: run on the host network (docker --network host, "
                             "Kubernetes hostNetwork: true)"
                           : "";
    throw CaptureError{
        perm ? ErrorCode::kEpermCapture : ErrorCode::kInternal,
        "process table: cannot subscribe to the proc connector (" + err + ")" + hint};
  }
  if (opts_.taskstats) {
    std::string ts_err;
    ts_fd_ = netlink::openTaskstats(opts_.receive_buffer_bytes, &ts_family_, &ts_err);
    taskstats_on_ = ts_fd_.valid();  // optional: names at exit; the table works without it
  }
  wake_fd_.reset(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wake_fd_.valid()) {
    int e = errno;
    netlink::closeProcConnector(&conn_fd_);
    netlink::closeTaskstats(&ts_fd_, ts_family_);
    throw CaptureError{ErrorCode::kInternal, std::string("process table: eventfd: ") + strerror(e)};
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
    netlink::closeProcConnector(&conn_fd_);
    netlink::closeTaskstats(&ts_fd_, ts_family_);
    wake_fd_.reset();
    throw CaptureError{ErrorCode::kInternal, std::string("process table: thread: ") + ex.what()};
  }
  running_ = true;
  // The thread scans /proc first; once that is done every process is known.
  {
    std::unique_lock<std::mutex> g(gen_mu_);
    gen_cv_.wait(g, [this] { return ready_; });
  }
  // Its own creation was a fork event: wait (bounded) until it has seen it.
  const uint64_t deadline = monotonicNs() + 500000000ull;
  while (!connector_verified_ && monotonicNs() < deadline) syncWithThread();
}

void ProcessTableImpl::stop() {
  std::lock_guard<std::mutex> lk(lifecycle_mu_);
  if (!running_) return;
  running_ = false;  // lookups from now on neither poll nor wake the thread
  stopping_ = true;
  uint64_t one = 1;
  if (write(wake_fd_.get(), &one, sizeof(one)) != sizeof(one)) {
    // The counter cannot overflow here; the thread also re-checks stopping_ every second.
  }
  thread_.join();
  netlink::closeProcConnector(&conn_fd_);
  netlink::closeTaskstats(&ts_fd_, ts_family_);
  wake_fd_.reset();
  taskstats_on_ = false;
  std::vector<char>().swap(rxbuf_);
  std::vector<netlink::TaskExit>().swap(exits_);
  std::lock_guard<std::mutex> g(mu_);
  tasks_.clear();
  ns_index_.clear();
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

std::unique_ptr<ProcessTable> makeProcessTable() { return makeProcessTable(ProcessTableOptions{}); }

std::unique_ptr<ProcessTable> makeProcessTable(const ProcessTableOptions& options) {
  return std::make_unique<ProcessTableImpl>(options);
}

}  // namespace pmg
