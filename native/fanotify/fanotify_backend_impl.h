// The fanotify backend's class. Its members are defined by concern:
//   fanotify_backend.cc  lifecycle, the capture loop (reading the queue, storm coalescing,
//                        records waiting for flags), marks, warnings, stats
//   fanotify_events.cc   one event: the filter, the mem file it names, the opener, the
//                        flags, the record
//   io_marks.cc          observed access (observeIo): inode marks on reported mem files,
//                        proc_mem_io summaries
//
// Design (the kernel facts it relies on: docs/kernel-facts.md; measurements:
// docs/fanotify-capture.md):
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
#pragma once

#include <sys/fanotify.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "../backend.h"
#include "../util/flood_guard.h"
#include "../util/mem_path.h"
#include "../util/unique_fd.h"
#include "capture_counters.h"
#include "fanotify_features.h"
#include "io_marks.h"
#include "pending_flags.h"
#include "procfs_instances.h"
#include "procfs_marker.h"
#include "storm_coalescer.h"

namespace pmg {

class FanotifyBackend : public Backend {
 public:
  ~FanotifyBackend() override { stop(); }
  const char* name() const override { return "fanotify"; }
  void start(EventSink& sink, ProcessTable& table) override;
  void stop() override;
  std::map<std::string, uint64_t> stats() const override;
  // Observed access (io_marks.h): inode marks on reported mem files, off by default.
  void setObserveIo(bool on) override { io_.setWanted(on); }

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
  StormCoalescer storm_;
  IoMarks io_;
  IoMarks::TgidOf tgid_of_;  // openerIds' thread-group id, for io_
  uint64_t batch_realtime_ns_ = 0, batch_monotonic_ns_ = 0;
  std::mutex warn_mu_;  // warnOnce is called from the capture and the marker threads
  std::set<int> warned_errnos_;
};

}  // namespace pmg
