#include "procfs_marker.h"

#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "../proc/netlink.h"
#include "fanotify_features.h"

namespace pmg {

// Exec events only; a burst of thousands of execs fits, and ENOBUFS only delays a rescan.
constexpr int kExecSocketBuffer = 1 << 20;

ProcfsMarker::ProcfsMarker(bool per_mount, MarkFn mark, WarnFn warn)
    : mark_(std::move(mark)), warn_(std::move(warn)), scanner_(per_mount) {}

void ProcfsMarker::start() {
  rescan();
  std::string err;
  exec_fd_ = netlink::openProcConnector(kExecSocketBuffer, &err);
  if (!exec_fd_.valid())
    warn_(errno, "new procfs instances are found by periodic rescans only: " + err);
  stop_fd_.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!stop_fd_.valid()) {
    warn_(errno, std::string("no procfs rescans: eventfd: ") + std::strerror(errno));
    return;
  }
  thread_ = std::thread(&ProcfsMarker::run, this);
}

void ProcfsMarker::stop() {
  if (thread_.joinable()) {
    stopping_ = true;
    uint64_t one = 1;
    // Cannot fail on our eventfd; if it did, the thread still sees stopping_ within kRescanNs.
    if (write(stop_fd_.get(), &one, sizeof one) != sizeof one) errno = 0;
    thread_.join();
    stopping_ = false;
  }
  stop_fd_.reset();
  netlink::closeProcConnector(&exec_fd_);
}

void ProcfsMarker::run() {
  pthread_setname_np(pthread_self(), "pmg-procfs");  // best effort; shows in task/*/comm
  // Marking a new namespace's procfs races the namespace's first programs; this thread is
  // idle almost always, so let it win the CPU when it wakes (best effort: needs privilege).
  if (setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), -10) != 0) errno = 0;
  while (!stopping_) {
    struct pollfd fds[2] = {{stop_fd_.get(), POLLIN, 0}, {exec_fd_.get(), POLLIN, 0}};
    int ready = poll(fds, exec_fd_.valid() ? 2 : 1, static_cast<int>(kRescanNs / 1000000));
    if (ready < 0 && errno != EINTR) {
      // ENOMEM under memory pressure: quitting would leave new procfs instances unmarked with
      // nobody told, and retrying at once would spin. Say so once, and retry after a pause.
      warn_(errno, std::string("procfs marker: poll failed, retrying: ") + std::strerror(errno));
      const timespec pause = {0, 100 * 1000 * 1000};
      nanosleep(&pause, nullptr);
      continue;
    }
    if (fds[0].revents) return;
    if (ready == 0) rescan();
    if (exec_fd_.valid() && fds[1].revents) drainExecEvents();
  }
}

void ProcfsMarker::drainExecEvents() {
  char buf[8192];
  std::vector<int32_t> execs;
  for (;;) {
    ssize_t n = recv(exec_fd_.get(), buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == ENOBUFS) {  // missed some: look at everything
      rescan();
      continue;
    }
    if (n <= 0) break;
    netlink::parseProcEvents(
        buf, static_cast<size_t>(n),
        [](void* ctx, const proc_event& ev) {
          if (ev.what == proc_event::PROC_EVENT_EXEC)
            static_cast<std::vector<int32_t>*>(ctx)->push_back(ev.event_data.exec.process_tgid);
        },
        &execs);
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (int32_t pid : execs) markNew(scanner_.scanProcess(pid));
}

void ProcfsMarker::rescan() {
  rescans_++;
  std::lock_guard<std::mutex> lock(mu_);
  markNew(scanner_.scanNew());
}

void ProcfsMarker::markNew(const std::vector<ProcfsInstance>& found) {
  for (const auto& inst : found) {
    int err = 0;
    if (mark_(inst, &err)) continue;
    mark_failures_++;
    scanner_.forget(inst);  // offered again next scan (the limit may be raised meanwhile)
    if (err != ENOENT && err != ESRCH)
      warn_(err, "cannot watch the procfs at " + inst.path + ": " + fanotifyErrorAdvice(err));
  }
}

bool ProcfsMarker::lookup(uint64_t dev, ProcfsInstance* out) const {
  std::lock_guard<std::mutex> lock(mu_);
  const ProcfsInstance* inst = scanner_.byDev(dev);
  if (inst) *out = *inst;
  return inst != nullptr;
}

size_t ProcfsMarker::count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return scanner_.count();
}

}  // namespace pmg
