// The fanotify backend's lifecycle and capture loop: the group and its marks, the thread that
// reads the queue (with storm coalescing) and resolves records waiting for their flags.
#include "fanotify_backend.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "../proc/procfs.h"
#include "../util/clock.h"
#include "exec_marks.h"
#include "fanotify_backend_impl.h"

namespace pmg {
namespace {

constexpr uint64_t kMarkMask = FAN_OPEN | FAN_CLOSE_WRITE;
constexpr size_t kReadBufferBytes = 256 * 1024;
constexpr int kMaxReadsPerWake = 64;  // then look at the stop fd and pending flags

ErrorCode errorCodeFor(int err) {
  switch (err) {
    case EPERM:
    case EACCES:
      return ErrorCode::kEpermCapture;
    case ENOSYS:
    case ENODEV:
    case EOPNOTSUPP:
      return ErrorCode::kFanotifyUnavailable;
    case EMFILE:
    case ENFILE:
    case ENOSPC:
      return ErrorCode::kLimitReached;
    default:
      return ErrorCode::kInternal;
  }
}

[[noreturn]] void throwFor(int err, const std::string& what) {
  throw CaptureError{errorCodeFor(err), what + ": " + fanotifyErrorAdvice(err)};
}

}  // namespace

void FanotifyBackend::start(EventSink& sink, ProcessTable& table) {
  if (thread_.joinable()) return;
  features_ = probeFanotify();
  if (!features_.available) throwFor(features_.init_errno, "cannot create a fanotify group");
  if (features_.mark_errno) throwFor(features_.mark_errno, "cannot watch /proc with fanotify");
  group_.reset(fanotify_init(features_.init_flags, fanotifyEventFlags()));
  if (!group_.valid()) throwFor(errno, "cannot create a fanotify group");
  stop_fd_.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!stop_fd_.valid()) throwFor(errno, "cannot create an eventfd");
  sink_ = &sink;
  table_ = &table;
  self_pid_ = getpid();
  buf_.resize(kReadBufferBytes);
  warned_errnos_.clear();
  marker_ = std::make_unique<ProcfsMarker>(
      !features_.mark_filesystem,
      [this](const ProcfsInstance& inst, int* err) { return mark(inst, err); },
      [this](int err, const std::string& msg) { warnOnce(err, msg); });
  marker_->start();
  std::string exec_failed;
  counters_.exec_filesystems = markExecFilesystems(group_.get(), &exec_failed);
  if (!exec_failed.empty())
    warnOnce(EPERM, "exe of short-lived openers may be missing: cannot mark " + exec_failed);
  struct stat host_proc;
  ProcfsInstance host;
  if (stat("/proc", &host_proc) != 0 || !marker_->lookup(host_proc.st_dev, &host)) {
    int err = errno ? errno : EPERM;
    marker_.reset();
    group_.reset();
    stop_fd_.reset();
    throwFor(err, "cannot mark the host's /proc");
  }
  tgid_of_ = [this](int32_t event_pid) {
    int32_t pid = 0, tid = 0;
    openerIds(event_pid, &pid, &tid);
    return pid;
  };
  io_.start(group_.get(), features_.report_tid, sink,
            [this](int err, const std::string& msg) { warnOnce(err, msg); });
  stopping_ = false;
  thread_ = std::thread(&FanotifyBackend::run, this);
}

void FanotifyBackend::stop() {
  if (thread_.joinable()) {
    stopping_ = true;
    uint64_t one = 1;
    if (write(stop_fd_.get(), &one, sizeof one) != sizeof one) {
      // The eventfd cannot be full or closed here; stopping_ is also checked between reads.
    }
    thread_.join();
  }
  marker_.reset();  // stops its thread before the group goes
  group_.reset();   // closing the group removes all of its marks
  stop_fd_.reset();
}

std::map<std::string, uint64_t> FanotifyBackend::stats() const {
  auto out = counters_.snapshot();
  size_t instances = marker_ ? marker_->count() : 0;  // marker_ changes only on the JS thread
  out["marks"] = instances;                           // one filesystem (or mount) mark per instance
  out["procfs_instances"] = instances;
  out["rescans"] = marker_ ? marker_->rescans() : 0;
  out["mark_failures"] = marker_ ? marker_->markFailures() : 0;
  out["folded"] = flood_.folded();
  out["flooding"] = flood_.flooding();
  io_.stats(&out);
  return out;
}

void FanotifyBackend::run() {
  pthread_setname_np(pthread_self(), "pmg-fanotify");  // best effort; shows in task/*/comm
  capture_tid_ = static_cast<int32_t>(syscall(SYS_gettid));
  try {
    loop();
  } catch (const std::exception& e) {
    sink_->warn((std::string("fanotify capture thread stopped: ") + e.what()).c_str());
  }
  // Tracked opens end with the counts so far; then, nothing that was seen is dropped at stop:
  // waiting records go out with unknown flags.
  io_.finish(monotonicNs());
  std::vector<CaptureRecord> rest;
  pending_.flush(&rest);
  for (const auto& rec : rest) emit(rec);
  sink_->flush();
}

void FanotifyBackend::loop() {
  while (!stopping_) {
    uint64_t now = monotonicNs();
    uint64_t wake_at = std::min(pending_.nextDeadline(), io_.nextDeadline());
    // ppoll: the first fdinfo retry is sub-millisecond, poll()'s timeout would round it up.
    struct timespec timeout = {0, 0};
    if (wake_at > now && wake_at != UINT64_MAX) {
      timeout.tv_sec = static_cast<time_t>((wake_at - now) / 1000000000ull);
      timeout.tv_nsec = static_cast<long>((wake_at - now) % 1000000000ull);
    }
    struct pollfd fds[2] = {{group_.get(), POLLIN, 0}, {stop_fd_.get(), POLLIN, 0}};
    int ready = ppoll(fds, 2, wake_at == UINT64_MAX ? nullptr : &timeout, nullptr);
    if (ready < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(std::string("poll: ") + std::strerror(errno));
    }
    if (fds[1].revents) break;
    if (fds[0].revents & (POLLERR | POLLNVAL)) throw std::runtime_error("fanotify fd error");
    uint64_t woke = monotonicNs();
    bool read_events = fds[0].revents & POLLIN;
    if (read_events) {
      drainQueue();
    } else {
      ++drained_epoch_;  // nothing queued: every close before this moment has been read
    }
    pollPending(monotonicNs());
    sink_->flush();  // what was read goes to JavaScript before any storm pause
    if (read_events && storm_.pauseAfter(woke)) pauseForStorm();
  }
}

void FanotifyBackend::pauseForStorm() {
  counters_.storm_pauses++;
  struct pollfd stop = {stop_fd_.get(), POLLIN, 0};
  struct timespec pause = {0, StormCoalescer::kPauseNs};
  if (ppoll(&stop, 1, &pause, nullptr) < 0 && errno != EINTR)
    throw std::runtime_error(std::string("ppoll: ") + std::strerror(errno));
}

void FanotifyBackend::drainQueue() {
  for (int reads = 0; reads < kMaxReadsPerWake && !stopping_; ++reads) {
    ssize_t n = read(group_.get(), buf_.data(), buf_.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        ++drained_epoch_;
        return;
      }
      if (errno == ESRCH || errno == EMFILE || errno == ENFILE || errno == ENOMEM ||
          errno == EACCES || errno == EPERM || errno == ENOENT) {
        // Without FAN_REPORT_FD_ERROR the kernel drops the event it could not open for us.
        counters_.unreadable++;
        sink_->lost(LossCause::kUnreadableEvent, 1);
        warnOnce(errno, std::string("a fanotify event was lost: ") + std::strerror(errno));
        continue;
      }
      throw std::runtime_error(std::string("read fanotify: ") + std::strerror(errno));
    }
    if (n == 0) return;
    batch_realtime_ns_ = realtimeNs();
    batch_monotonic_ns_ = monotonicNs();
    auto* ev = reinterpret_cast<const fanotify_event_metadata*>(buf_.data());
    for (; FAN_EVENT_OK(ev, n); ev = FAN_EVENT_NEXT(ev, n)) {
      if (ev->vers != FANOTIFY_METADATA_VERSION) {
        throw std::runtime_error("fanotify metadata version mismatch");
      }
      handleEvent(*ev);
    }
    sink_->flush();
  }
}

void FanotifyBackend::pollPending(uint64_t now) {
  if (pending_.nextDeadline() <= now) {
    std::vector<CaptureRecord> ready;
    pending_.poll(
        now, drained_epoch_,
        [this](const CaptureRecord& rec, uint64_t* cpu_mark, int32_t* flags, int32_t* fd) {
          return probeOpener(rec, cpu_mark, flags, fd);
        },
        &ready);
    for (const auto& rec : ready) emit(rec);
  }
  counters_.syncPending(pending_);
  io_.poll(now, drained_epoch_);
}

bool FanotifyBackend::mark(const ProcfsInstance& inst, int* err) {
  unsigned how = FAN_MARK_ADD | (features_.mark_filesystem ? FAN_MARK_FILESYSTEM : FAN_MARK_MOUNT);
  if (fanotify_mark(group_.get(), how, kMarkMask, AT_FDCWD, inst.path.c_str()) == 0) return true;
  *err = errno;
  return false;
}

// An exec of a binary (FAN_OPEN_EXEC, queued before anything the new program does): its path
// goes to the process table's exe cache, keyed by (dev, inode).
void FanotifyBackend::noteExecutable(int fd) {
  counters_.exec_events++;
  procfs::rememberExecutableFd(fd);
}

void FanotifyBackend::warnOnce(int err, const std::string& message) {
  std::lock_guard<std::mutex> lock(warn_mu_);
  if (!warned_errnos_.insert(err).second) return;
  if (sink_) sink_->warn(message.c_str());
}

std::unique_ptr<Backend> makeFanotifyBackend() { return std::make_unique<FanotifyBackend>(); }

}  // namespace pmg
