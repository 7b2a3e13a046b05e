// fanotify backend.
//
// Design (facts measured on the development kernel, see ../shared/KERNEL-NOTES.md):
// - One FAN_CLASS_NOTIF group. FAN_REPORT_FD_ERROR where the kernel has it: an event whose
//   file cannot be reopened for us (the target process exited) arrives with fd = -ESRCH
//   instead of failing read() and vanishing; without it such read() failures are counted as
//   kUnreadableEvent losses. FAN_REPORT_TID where available, for the opener's thread id.
// - A filesystem mark (mount marks on kernels without them) on every procfs instance, kept by
//   ProcfsMarker on its own thread: all at start, a new namespace's procfs at its first exec
//   (proc connector), and periodic rescans.
// - Mark mask FAN_OPEN | FAN_CLOSE_WRITE. The open says a mem file was opened. FAN_OPEN is
//   queued inside the open, before the opener's fd is installed, so a missing fd means "not
//   yet" or "already closed": the opener's progress tells the two apart, and the write-close
//   (queued only for files opened for writing, rare on procfs) whether a closed file was open
//   for writing (PendingFlags, pending_flags.h). FAN_CLOSE_NOWRITE and FAN_ACCESS are not
//   marked: every `ps` opens and reads hundreds of procfs files, and measured, CLOSE_NOWRITE
//   alone tripled the events of a procfs open storm and raised its cost by about a fifth.
// - The filter costs one fstat + close for every procfs open on the host: only regular files
//   of mode 0600 on a marked procfs superblock go on to readlink (mem is the only 0600 file
//   in a pid directory); the tail of the path decides mem vs task/<tid>/mem. Nothing relies on
//   the string "/proc".
// - Our own opens (fdinfo, status, mountinfo) are procfs opens too; they are dropped by pid
//   before anything else, so they never feed back.
#include "fanotify_backend.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "../proc/procfs.h"
#include "../proc/target_info.h"
#include "../util/fixed_string.h"
#include "../util/flood_guard.h"
#include "../util/proc_files.h"
#include "../util/unique_fd.h"
#include "capture_counters.h"
#include "event_path.h"
#include "exec_marks.h"
#include "fanotify_features.h"
#include "opener_flags.h"
#include "pending_flags.h"
#include "procfs_marker.h"

namespace pmg {
namespace {

constexpr uint64_t kMarkMask = FAN_OPEN | FAN_CLOSE_WRITE;
constexpr size_t kReadBufferBytes = 256 * 1024;
constexpr int kMaxReadsPerWake = 64;  // then look at the stop fd and pending flags
// Storm coalescing. A reader that empties the queue and goes back to sleep makes every new
// event wake it: the opener pays a cross-CPU wake-up per open and identical opens never get
// the chance to merge. When wake-ups come faster than one per kStormGapNs (a storm: over
// 20k wake-ups/s), the reader pauses kStormPauseNs after each drain so the queue fills and is
// read in one go. A lone mem open on a quiet host never pauses, so its open-to-finding latency
// is unchanged; during a storm it grows by at most the pause. Measured by bench/storm.mjs and
// bench/latency.mjs.
constexpr uint64_t kStormGapNs = 50 * 1000;
constexpr long kStormPauseNs = 200 * 1000;

std::string errorCodeFor(int err) {
  switch (err) {
    case EPERM:
    case EACCES:
      return "EPERM_CAPTURE";
    case ENOSYS:
    case ENODEV:
    case EOPNOTSUPP:
      return "FANOTIFY_UNAVAILABLE";
    case EMFILE:
    case ENFILE:
    case ENOSPC:
      return "LIMIT_REACHED";
    default:
      return "INTERNAL";
  }
}

[[noreturn]] void throwFor(int err, const std::string& what) {
  throw CaptureError{errorCodeFor(err), what + ": " + fanotifyErrorAdvice(err)};
}

class FanotifyBackend : public Backend {
 public:
  ~FanotifyBackend() override { stop(); }
  const char* name() const override { return "fanotify"; }
  void start(EventSink& sink, ProcessTable& table) override;
  void stop() override;
  std::map<std::string, uint64_t> stats() const override;

 private:
  void run();
  void loop();
  void drainQueue();
  void handleEvent(const fanotify_event_metadata& ev);
  void handleFdError(const fanotify_event_metadata& ev);
  void handleMemFile(const fanotify_event_metadata& ev, const struct stat& st,
                     const ProcfsInstance& inst, const std::string& path, const MemPath& mem,
                     bool deleted);
  // Opener thread-group id and thread id from the event's pid (a tid with FAN_REPORT_TID).
  void openerIds(int32_t event_pid, int32_t* pid, int32_t* tid);
  bool isOwnThread(int32_t event_pid, int32_t tid) const;
  void fillFileFields(CaptureRecord* rec, const struct stat& st, const ProcfsInstance& inst,
                      const std::string& path, const MemPath& mem, bool deleted);
  void markSelfTarget(CaptureRecord* rec);
  // For an event whose target is gone: the mem file the opener still holds, if any.
  bool fillFromHeldMemFd(int32_t tid, CaptureRecord* rec);
  CaptureRecord newRecord() const;
  void emit(const CaptureRecord& rec);
  void pollPending(uint64_t now);
  PendingFlags::Probed probeOpener(const CaptureRecord& rec, uint64_t* cpu_mark, int32_t* flags,
                                   int32_t* fd);
  bool mark(const ProcfsInstance& inst, int* err);
  void warnOnce(int err, const std::string& message);
  void noteExecutable(int fd);
  void pauseForStorm();
  // False (and counted) when the record's uid is over its budget (FloodGuard).
  bool admit(const CaptureRecord& rec);

  FanotifyFeatures features_;
  UniqueFd group_, stop_fd_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  EventSink* sink_ = nullptr;
  ProcessTable* table_ = nullptr;
  std::unique_ptr<ProcfsMarker> marker_;
  PendingFlags pending_;
  FloodGuard flood_;
  FanotifyCounters counters_;
  std::vector<char> buf_;
  int32_t self_pid_ = 0;
  std::atomic<int32_t> capture_tid_{0};
  uint64_t drained_epoch_ = 0;  // times the kernel queue was read empty (PendingFlags)
  uint64_t last_wake_ns_ = 0;   // for storm coalescing
  uint64_t batch_realtime_ns_ = 0, batch_monotonic_ns_ = 0;
  std::mutex warn_mu_;  // warnOnce is called from the capture and the marker threads
  std::set<int> warned_errnos_;
};

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
  // Nothing that was seen is dropped at stop: waiting records go out with unknown flags.
  std::vector<CaptureRecord> rest;
  pending_.flush(&rest);
  for (const auto& rec : rest) emit(rec);
  sink_->flush();
}

void FanotifyBackend::loop() {
  while (!stopping_) {
    uint64_t now = monotonicNs();
    uint64_t wake_at = pending_.nextDeadline();
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
    if (read_events) {
      if (woke - last_wake_ns_ < kStormGapNs) pauseForStorm();
      last_wake_ns_ = woke;
    }
  }
}

void FanotifyBackend::pauseForStorm() {
  counters_.storm_pauses++;
  struct pollfd stop = {stop_fd_.get(), POLLIN, 0};
  struct timespec pause = {0, kStormPauseNs};
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

void FanotifyBackend::handleEvent(const fanotify_event_metadata& ev) {
  counters_.events_read++;
  if (ev.mask & FAN_Q_OVERFLOW) {
    if (ev.fd >= 0) close(ev.fd);
    counters_.overflows++;
    sink_->lost(LossCause::kKernelOverflow, 1);
    return;
  }
  // Any event of a thread proves it returned from the opens it made before (PendingFlags).
  if (features_.report_tid && ev.pid > 0) pending_.progressed(ev.pid, drained_epoch_);
  if (ev.fd < 0) return handleFdError(ev);
  UniqueFd fd(ev.fd);
  if (ev.mask & FAN_OPEN_EXEC) return noteExecutable(fd.get());
  if (ev.pid == self_pid_ || ev.pid == capture_tid_) {
    counters_.filtered_self++;
    return;
  }
  struct stat st;
  if (fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 07777) != 0600) {
    counters_.filtered_not_mem++;
    return;
  }
  ProcfsInstance inst;
  std::string path;
  MemPath mem;
  bool deleted = false;
  if (!marker_->lookup(st.st_dev, &inst) ||
      !readLink("/proc/self/fd/" + std::to_string(fd.get()), &path)) {
    counters_.filtered_not_mem++;
    return;
  }
  std::string fs_path;
  if (!parseEventPath(path, &mem, &deleted) &&
      !(path.size() >= 4 && path.compare(path.size() - 4, 4, "/mem") == 0 &&
        procfsPathOf(fd.get(), path, &fs_path) && parseEventPath(fs_path, &mem, &deleted))) {
    counters_.filtered_not_mem++;
    return;
  }
  handleMemFile(ev, st, inst, path, mem, deleted);
}

void FanotifyBackend::handleMemFile(const fanotify_event_metadata& ev, const struct stat& st,
                                    const ProcfsInstance& inst, const std::string& path,
                                    const MemPath& mem, bool deleted) {
  int32_t pid = 0, tid = 0;
  openerIds(ev.pid, &pid, &tid);
  if (isOwnThread(ev.pid, tid)) {
    counters_.filtered_self++;
    return;
  }
  // A write-close first completes an open seen earlier whose fd was not found (fanotify may
  // have merged it with a newer open of the same file into one event: then it is not this
  // open's close).
  std::vector<CaptureRecord> resolved;
  bool write_close = ev.mask & FAN_CLOSE_WRITE;
  bool close_was_earlier =
      write_close && pending_.writeClosed(st.st_dev, st.st_ino, pid, monotonicNs(), &resolved);
  for (const auto& r : resolved) emit(r);
  if (!(ev.mask & FAN_OPEN)) return;

  CaptureRecord rec = newRecord();
  fillFileFields(&rec, st, inst, path, mem, deleted);
  table_->attribute(pid, tid, &rec);
  markSelfTarget(&rec);
  if (!admit(rec)) return;
  enrichTarget(*table_, &rec);

  int32_t flags = 0, fdnum = 0;
  uint64_t cpu_mark = 0;
  PendingFlags::Probed first = probeOpener(rec, &cpu_mark, &flags, &fdnum);
  if (first == PendingFlags::Probed::kFound) {
    // Merged events: a write-close in the same event means some open of this file by this
    // process was for writing, whatever the fd found first says.
    if (write_close && !close_was_earlier && (flags & O_ACCMODE) == O_RDONLY)
      flags = (flags & ~O_ACCMODE) | O_RDWR;
    rec.open_flags = flags;
    rec.return_value = fdnum;
    rec.flags_source = static_cast<uint8_t>(FlagsSource::kFdinfo);
  } else if (write_close && !close_was_earlier) {
    // Opened for writing and closed before we looked (O_RDWR: reads cannot be ruled out).
    rec.open_flags = O_RDWR;
    rec.flags_source = static_cast<uint8_t>(FlagsSource::kInferred);
  } else {
    // Not installed yet, or closed: wait until the opener's progress or a write-close says.
    pending_.add(rec, first, cpu_mark, monotonicNs(), drained_epoch_, &resolved);
    for (size_t i = 0; i < resolved.size(); i++) emit(resolved[i]);
    return;
  }
  emit(rec);
}

PendingFlags::Probed FanotifyBackend::probeOpener(const CaptureRecord& rec, uint64_t* cpu_mark,
                                                  int32_t* flags, int32_t* fd) {
  bool gone = false;
  if (readOpenerFlags(rec.host_tid, rec.dev, rec.inode, flags, fd, &gone))
    return PendingFlags::Probed::kFound;
  // The opening thread may have exited while its process still holds the file.
  bool pid_gone = false;
  if (rec.host_pid != rec.host_tid && rec.host_pid > 0 &&
      readOpenerFlags(rec.host_pid, rec.dev, rec.inode, flags, fd, &pid_gone))
    return PendingFlags::Probed::kFound;
  if (gone) return PendingFlags::Probed::kClosed;  // the thread finished its open and exited
  // Without FAN_REPORT_TID the event names the process, not the thread that opened: its
  // main thread's progress says nothing about the open, so only the fd or a close can say.
  if (!features_.report_tid) return PendingFlags::Probed::kNotYet;
  return openerProgress(rec.host_tid, cpu_mark);
}

void FanotifyBackend::fillFileFields(CaptureRecord* rec, const struct stat& st,
                                     const ProcfsInstance& inst, const std::string& path,
                                     const MemPath& mem, bool deleted) {
  rec->dev = st.st_dev;
  rec->inode = st.st_ino;
  rec->ctime_ns = static_cast<uint64_t>(st.st_ctim.tv_sec) * 1000000000ull +
                  static_cast<uint64_t>(st.st_ctim.tv_nsec);
  rec->target_pid = mem.pid;
  rec->target_tid = mem.task ? mem.tid : mem.pid;
  if (!inst.host_pids) {  // a container's procfs shows its own pids: translate to host pids
    rec->target_pid = table_->hostPidOf(inst.pid_ns, mem.pid);
    rec->target_tid = mem.task ? table_->hostPidOf(inst.pid_ns, mem.tid) : rec->target_pid;
  }
  rec->record_flags |= kProcfsMem | (mem.task ? kThreadMem : 0u) | (deleted ? kTargetExited : 0u);
  if (!copyFixed(rec->pathname, path)) rec->record_flags |= kPathTruncated;
  copyFixed(rec->syscall_pathname, path);
}

void FanotifyBackend::markSelfTarget(CaptureRecord* rec) {
  if (rec->target_pid != 0 && rec->target_pid == rec->host_pid) rec->record_flags |= kSelfTarget;
}

bool FanotifyBackend::fillFromHeldMemFd(int32_t tid, CaptureRecord* rec) {
  std::string path;
  MemPath mem;
  bool deleted = false;
  ProcfsInstance inst;
  struct stat held;
  std::string fd_dir = "/proc/" + std::to_string(tid) + "/fd/";
  int fd = findOpenerFd(tid, [&](int n, const struct stat& st) {
    if (!S_ISREG(st.st_mode) || (st.st_mode & 07777) != 0600) return false;
    held = st;
    if (!marker_->lookup(st.st_dev, &inst) || !readLink(fd_dir + std::to_string(n), &path) ||
        !parseEventPath(path, &mem, &deleted))
      return false;
    // Only a file of a target that is gone: its path no longer reaches the same inode (a
    // held fd pins a live target's dentry, so the same path finds the same inode).
    std::string now = inst.path + "/" + std::to_string(mem.pid) +
                      (mem.task ? "/task/" + std::to_string(mem.tid) : "") + "/mem";
    struct stat cur;
    return stat(now.c_str(), &cur) != 0 || cur.st_ino != st.st_ino || cur.st_dev != st.st_dev;
  });
  int32_t flags = 0;
  if (fd < 0 || !readFdFlags(tid, fd, &flags)) return false;
  fillFileFields(rec, held, inst, path, mem, deleted);
  rec->open_flags = flags;
  rec->return_value = fd;
  rec->flags_source = static_cast<uint8_t>(FlagsSource::kFdinfo);
  return true;
}

void FanotifyBackend::handleFdError(const fanotify_event_metadata& ev) {
  // Our own threads too (the procfs marker reads mountinfo of processes that may be exiting).
  if (isOwnThread(ev.pid, ev.pid)) {
    counters_.filtered_self++;
    return;
  }
  if (ev.fd == -EINVAL || ev.fd == -ENOENT) {
    // The kernel could not reopen a mount table file (mountinfo, mounts, mountstats) of an
    // exiting process (no mount namespace or fs any more: measured, docs/fanotify-capture.md).
    // A mem file never fails that way: its reopen fails only with ESRCH (target gone) or a
    // permission error. Not a loss.
    counters_.filtered_gone_not_mem++;
    return;
  }
  if (ev.fd != -ESRCH) {
    counters_.unreadable++;
    sink_->lost(LossCause::kUnreadableEvent, 1);
    std::string advice =
        ev.fd == -EACCES || ev.fd == -EPERM
            ? " (reopening another user's mem file needs CAP_SYS_PTRACE; such opens are lost)"
            : "";
    warnOnce(-ev.fd, std::string("a procfs open could not be reopened for reading its event: ") +
                         std::strerror(-ev.fd) + advice);
    return;
  }
  // The target exited before we read the event, so the kernel could not reopen the file for
  // us. Reported as the mem file the opener still holds, if it does.
  int32_t pid = 0, tid = 0;
  openerIds(ev.pid, &pid, &tid);
  if (isOwnThread(ev.pid, tid)) {
    counters_.filtered_self++;
    return;
  }
  CaptureRecord rec = newRecord();
  rec.record_flags |= kTargetExited;
  // The opener may still hold the file: its fd link names the mem file and its fdinfo the
  // flags. (If it holds several mem fds of exited targets, the first one found is reported.)
  if (!fillFromHeldMemFd(tid, &rec)) {
    if (!(ev.mask & FAN_CLOSE_WRITE)) {
      // A read-only open of one of the exited target's mm files (mem, maps, smaps, environ,
      // auxv, pagemap...): ps and top cause these all the time on a busy host, so reporting
      // them would bury real findings. Counted, not reported.
      counters_.exited_target_unknown++;
      return;
    }
    // Opened for writing: of those files only mem can be.
    rec.record_flags |= kProcfsMem | kFileUnknown;
    rec.open_flags = O_RDWR;
    rec.flags_source = static_cast<uint8_t>(FlagsSource::kInferred);
  }
  table_->attribute(pid, tid, &rec);
  markSelfTarget(&rec);
  if (!admit(rec)) return;
  enrichTarget(*table_, &rec);
  counters_.target_exited++;
  emit(rec);
}

void FanotifyBackend::openerIds(int32_t event_pid, int32_t* pid, int32_t* tid) {
  *pid = *tid = event_pid;
  if (!features_.report_tid) return;
  ProcessInfo info;
  if (table_->lookup(0, event_pid, &info) && info.host_pid > 0) *pid = info.host_pid;
}

bool FanotifyBackend::isOwnThread(int32_t event_pid, int32_t tid) const {
  if (event_pid == self_pid_ || tid == capture_tid_) return true;
  if (!features_.report_tid) return false;
  // Another thread of ours (a libuv worker, the process table's thread)? A lookup of our own
  // task directory: no open, so no event.
  std::string task = "/proc/self/task/" + std::to_string(tid);
  return access(task.c_str(), F_OK) == 0;
}

CaptureRecord FanotifyBackend::newRecord() const {
  CaptureRecord rec;
  std::memset(&rec, 0, sizeof rec);
  rec.size = kRecordSize;
  rec.version = kRecordVersion;
  rec.backend = static_cast<uint8_t>(BackendId::kFanotify);
  rec.timestamp_ns = batch_realtime_ns_;
  rec.monotonic_ns = batch_monotonic_ns_;
  return rec;
}

void FanotifyBackend::emit(const CaptureRecord& rec) {
  switch (static_cast<FlagsSource>(rec.flags_source)) {
    case FlagsSource::kFdinfo:
      counters_.fdinfo_flags++;
      break;
    case FlagsSource::kInferred:
      counters_.inferred_flags++;
      break;
    default:
      counters_.unknown_flags++;
  }
  if (sink_->push(rec)) counters_.emitted++;
}

bool FanotifyBackend::admit(const CaptureRecord& rec) {
  uint32_t uid = rec.record_flags & kAttributionMissing ? FloodGuard::kUnknownUid : rec.uid;
  return flood_.admitOrFold(uid, monotonicNs(), *sink_);
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

}  // namespace

std::unique_ptr<Backend> makeFanotifyBackend() { return std::make_unique<FanotifyBackend>(); }

}  // namespace pmg
