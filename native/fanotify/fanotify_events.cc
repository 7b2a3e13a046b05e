// One fanotify event, from the kernel's metadata to a CaptureRecord: our own opens and files
// that cannot be mem are dropped first (one fstat), then the path names the mem file and its
// target, the process table the opener, and the opener's fdinfo (or its progress, or a
// write-close) the open flags.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "../proc/target_info.h"
#include "../util/clock.h"
#include "../util/fd_flags.h"
#include "../util/fixed_string.h"
#include "../util/proc_files.h"
#include "event_path.h"
#include "fanotify_backend_impl.h"
#include "opener_progress.h"

namespace pmg {

void FanotifyBackend::handleEvent(const fanotify_event_metadata& ev) {
  counters_.events_read++;
  UniqueFd fd(ev.fd >= 0 ? ev.fd : -1);  // ours to close, whatever happens to the event
  if (ev.mask & FAN_Q_OVERFLOW) {
    counters_.overflows++;
    sink_->lost(LossCause::kKernelOverflow, 1);
    return;
  }
  // Any event of a thread proves it returned from the opens it made before (PendingFlags).
  if (features_.report_tid && ev.pid > 0) pending_.progressed(ev.pid, drained_epoch_);
  if (ev.fd < 0) return handleFdError(ev);
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
  // Observed access: an access, modify or close on a tracked file is counted there; only an
  // open or a write-close goes on (they are the filesystem mark's events too).
  if (io_.onEvent(ev.mask, ev.pid, st, batch_monotonic_ns_, tgid_of_) &&
      !(ev.mask & (FAN_OPEN | FAN_CLOSE_WRITE)))
    return;
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
  int fd = findOpenerFd(tid, [&](int n, const struct stat& st) {
    if (!S_ISREG(st.st_mode) || (st.st_mode & 07777) != 0600) return false;
    held = st;
    if (!marker_->lookup(st.st_dev, &inst) || !readLink(fdLinkPath(tid, n), &path) ||
        !parseEventPath(path, &mem, &deleted))
      return false;
    // Only a file of a target that is gone: its path no longer reaches the same inode (a
    // held fd pins a live target's dentry, so the same path finds the same inode).
    std::string now = memPathUnder(inst.path, mem.pid, mem.task ? mem.tid : 0);
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
  // Only our inode marks (observed access) ask for these: not an open of anything.
  if (ev.mask & IoMarks::kMask) io_.onUnopenable(ev.mask, ev.pid, batch_monotonic_ns_, tgid_of_);
  if (!(ev.mask & ~(FAN_ACCESS | FAN_MODIFY | FAN_CLOSE_NOWRITE))) return;
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
  io_.reported(rec, drained_epoch_, monotonicNs());
}

bool FanotifyBackend::admit(const CaptureRecord& rec) {
  uint32_t uid = rec.record_flags & kAttributionMissing ? FloodGuard::kUnknownUid : rec.uid;
  return flood_.admitOrFold(uid, monotonicNs(), *sink_);
}

}  // namespace pmg
