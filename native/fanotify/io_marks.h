// Observed access on the fanotify backend (the observeIo option; README "What the opener did
// with it", docs/fanotify-capture.md "Observed access"): after a mem open is reported with
// the opener's fd, an inode mark on that one file (FAN_ACCESS | FAN_MODIFY | FAN_CLOSE_*)
// counts what the opener does with it, and one summary record (record_kind kIoSummary, bytes
// unknown) follows when the opener closes it or exits, or the watcher stops. Off (the
// default), nothing is marked and every call returns at once. Bookkeeping: io_table.h.
//
// Why each step:
// - The mark goes on after the opener's fd was seen in its fdinfo (the record's kFdinfo
//   flags): only then is the file known to be still open, so a close event will come. An
//   open already closed by then is not tracked (io_closed_early): a mark would wait forever.
// - The watcher holds an O_PATH fd on each marked file: an inode mark on procfs is lost when
//   the dentry is evicted (docs/kernel-facts.md), and the held file keeps it.
// - A close event names a process, not an fd, and exit closes files too: a close by a task
//   that is exiting (PF_EXITING, a zombie, or gone) ends the entry as "exited".
// - An opener whose file is held elsewhere (a forked child, a passed fd) sends no close at
//   its exit: each second the tracked openers' stat files say who is gone.
// - Ends that are seen outside the queue (the sweep, a file found closed right after marking)
//   wait until the queue has been read empty, so that events queued before count first.
#pragma once

#include <sys/fanotify.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "../backend.h"
#include "../util/unique_fd.h"
#include "io_table.h"

namespace pmg {

class IoMarks {
 public:
  static constexpr uint64_t kMask = FAN_ACCESS | FAN_MODIFY | FAN_CLOSE_NOWRITE | FAN_CLOSE_WRITE;
  static constexpr uint64_t kSweepNs = 1'000'000'000;
  // The thread-group id of an event's pid (a thread id with FAN_REPORT_TID).
  using TgidOf = std::function<int32_t(int32_t event_pid)>;
  using Warn = std::function<void(int err, const std::string& message)>;

  // The observeIo option, applied at the next start().
  void setWanted(bool on) { wanted_ = on; }
  // `report_tid`: the group reports thread ids (FAN_REPORT_TID).
  void start(int group, bool report_tid, EventSink& sink, Warn warn);
  // Every record the backend reports: an open reported with its fd starts tracking.
  void reported(const CaptureRecord& rec, uint64_t drained_epoch, uint64_t now_ns);
  // An event with a file (fd): true when it was about a tracked file and is fully handled
  // here unless it also has FAN_OPEN or FAN_CLOSE_WRITE, which the backend handles too.
  bool onEvent(uint64_t mask, int32_t event_pid, const struct stat& st, uint64_t now_ns,
               const TgidOf& tgid_of);
  // An event whose file the kernel could not open for us (the target exited) that only an
  // inode mark of ours can have caused (no FAN_OPEN or FAN_CLOSE_WRITE in it).
  void onUnopenable(uint64_t mask, int32_t event_pid, uint64_t now_ns, const TgidOf& tgid_of);
  // Sweeps for gone openers (every kSweepNs) and ends entries whose end waited for a drained
  // queue.
  void poll(uint64_t now_ns, uint64_t drained_epoch);
  // When poll() should run next: 0 when an end waits for a drained queue, UINT64_MAX: never.
  uint64_t nextDeadline() const;
  // At stop: every entry ends (kWatcherStopped, counts so far), the held files are closed
  // (the group's close removes the marks).
  void finish(uint64_t now_ns);
  void stats(std::map<std::string, uint64_t>* out) const;

 private:
  enum class Marked { kMarked, kClosed, kFailed };
  void track(const CaptureRecord& rec, uint64_t drained_epoch, uint64_t now_ns);
  Marked markFile(const CaptureRecord& rec);
  void unmark(const IoTable::FileKey& file);
  void sweep(uint64_t now_ns, uint64_t drained_epoch);
  void push(const IoTable::Ended& ended);
  void untracked();
  IoEnd endOfClose(int32_t event_pid) const;
  void syncGauges();

  bool wanted_ = false;
  std::atomic<bool> on_{false};
  int group_ = -1;
  bool report_tid_ = false;
  EventSink* sink_ = nullptr;
  Warn warn_;
  IoTable table_;
  std::map<IoTable::FileKey, UniqueFd> held_;  // an O_PATH fd on each marked file
  uint64_t next_sweep_ = UINT64_MAX;
  // stats(): see docs/fanotify-capture.md "Observed access".
  std::atomic<uint64_t> tracked_{0}, untracked_{0}, summaries_{0}, entries_{0}, marks_{0},
      access_events_{0}, modify_events_{0}, other_events_{0}, merged_opens_{0}, closed_early_{0},
      unmark_failures_{0};
};

}  // namespace pmg
