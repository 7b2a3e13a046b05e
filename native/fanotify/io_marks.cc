// Observed access on the fanotify backend, the kernel side (io_marks.h).
#include "io_marks.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "../util/fd_flags.h"
#include "../util/task_stat.h"

namespace pmg {

namespace {

constexpr uint64_t kCloses = FAN_CLOSE_NOWRITE | FAN_CLOSE_WRITE;

std::string selfFdPath(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

}  // namespace

// How a tracked open ended when `event_pid` closed the file: an exiting (or gone) task closes
// its files as it exits. The event names the thread with FAN_REPORT_TID, else the process.
IoEnd IoMarks::endOfClose(int32_t event_pid) const {
  bool ending = report_tid_ ? threadEnding(event_pid) : processEnding(event_pid, 0);
  return ending ? IoEnd::kExited : IoEnd::kClosed;
}

void IoMarks::start(int group, bool report_tid, EventSink& sink, Warn warn) {
  group_ = group;
  report_tid_ = report_tid;
  sink_ = &sink;
  warn_ = std::move(warn);
  table_.clear();  // finish() summarized the former run's entries
  held_.clear();
  next_sweep_ = UINT64_MAX;
  on_ = wanted_;
  syncGauges();
}

void IoMarks::reported(const CaptureRecord& rec, uint64_t drained_epoch, uint64_t now_ns) {
  if (!on_ || rec.record_kind != static_cast<uint8_t>(RecordKind::kOpen)) return;
  switch (static_cast<FlagsSource>(rec.flags_source)) {
    case FlagsSource::kFdinfo:
      track(rec, drained_epoch, now_ns);
      break;
    case FlagsSource::kInferred:
      closed_early_++;  // the opener had closed it before its fd could be seen
      break;
    default:
      untracked();  // its fd was never seen (the opener starved, or too many waited)
  }
  syncGauges();
}

void IoMarks::track(const CaptureRecord& rec, uint64_t drained_epoch, uint64_t now_ns) {
  const IoTable::Key key = IoTable::keyOf(rec);
  if (table_.tracked(key)) {
    merged_opens_++;  // the opener's entry on that file goes on: counts per opener per file
    return;
  }
  if (table_.size() >= IoTable::kMaxEntries) return untracked();
  const bool fresh = !table_.fileTracked(key.file);
  if (fresh) {
    Marked m = markFile(rec);
    if (m == Marked::kClosed) {
      closed_early_++;
      return;
    }
    if (m == Marked::kFailed) return untracked();
  }
  TaskStat st;
  uint64_t start = readTaskStat(rec.host_pid, &st) == TaskRead::kOk ? st.start_ticks : 0;
  bool first = false;
  table_.add(rec, start, &first);
  tracked_++;
  if (next_sweep_ == UINT64_MAX) next_sweep_ = now_ns + kSweepNs;
  // Closed between the look at its fdinfo and the mark? Then no close event may come: it
  // ends once the events queued so far are read (a close among them ends it first).
  if (fresh && !fdIsFile(rec.host_tid, rec.return_value, rec.dev, rec.inode) &&
      (rec.host_pid == rec.host_tid ||
       !fdIsFile(rec.host_pid, rec.return_value, rec.dev, rec.inode)))
    table_.endAfterDrain(key, threadEnding(rec.host_tid) ? IoEnd::kExited : IoEnd::kClosed,
                         drained_epoch, now_ns);
}

IoMarks::Marked IoMarks::markFile(const CaptureRecord& rec) {
  // The opener's fd link, not its path: the file it holds, whatever its path names now.
  UniqueFd held(open(fdLinkPath(rec.host_tid, rec.return_value).c_str(), O_PATH | O_CLOEXEC));
  if (!held.valid() && rec.host_pid != rec.host_tid)
    held.reset(open(fdLinkPath(rec.host_pid, rec.return_value).c_str(), O_PATH | O_CLOEXEC));
  if (!held.valid()) {
    if (errno == ENOENT || errno == ESRCH) return Marked::kClosed;
    warn_(errno, std::string("proc_mem_io: cannot hold a mem file to mark it: ") +
                     std::strerror(errno) + " (such opens are counted as io_untracked)");
    return Marked::kFailed;
  }
  struct stat st;
  if (fstat(held.get(), &st) != 0) {
    warn_(errno, std::string("proc_mem_io: fstat of a held mem file: ") + std::strerror(errno));
    return Marked::kFailed;
  }
  if (st.st_dev != rec.dev || st.st_ino != rec.inode) return Marked::kClosed;  // fd reused
  if (fanotify_mark(group_, FAN_MARK_ADD, kMask, AT_FDCWD, selfFdPath(held.get()).c_str()) != 0) {
    warn_(errno, std::string("proc_mem_io: cannot mark a mem file: ") + std::strerror(errno) +
                     " (such opens are counted as io_untracked)");
    return Marked::kFailed;
  }
  held_.emplace(IoTable::FileKey{rec.dev, rec.inode}, std::move(held));
  return Marked::kMarked;
}

void IoMarks::unmark(const IoTable::FileKey& file) {
  auto it = held_.find(file);
  if (it == held_.end()) return;
  if (fanotify_mark(group_, FAN_MARK_REMOVE, kMask, AT_FDCWD,
                    selfFdPath(it->second.get()).c_str()) != 0) {
    // The mark stays until the group closes: its events are counted as io_other_events.
    unmark_failures_++;
    warn_(errno,
          std::string("proc_mem_io: cannot remove a mem file's mark: ") + std::strerror(errno));
  }
  held_.erase(it);
}

bool IoMarks::onEvent(uint64_t mask, int32_t event_pid, const struct stat& st, uint64_t now_ns,
                      const TgidOf& tgid_of) {
  if (!on_ || !(mask & kMask)) return false;
  IoTable::Key key{event_pid, IoTable::FileKey{st.st_dev, st.st_ino}};
  if (!table_.fileTracked(key.file)) return false;
  if (!table_.tracked(key)) key.tgid = tgid_of(event_pid);
  const bool access = mask & FAN_ACCESS, modify = mask & FAN_MODIFY;
  if (!table_.count(key, access, modify)) {
    other_events_++;  // another process on a tracked file, or a close already summarized
    return true;
  }
  if (access) access_events_++;
  if (modify) modify_events_++;
  if (mask & kCloses) {
    IoTable::Ended ended;
    table_.end(key, endOfClose(event_pid), now_ns, &ended);
    push(ended);
  }
  return true;
}

void IoMarks::onUnopenable(uint64_t mask, int32_t event_pid, uint64_t now_ns,
                           const TgidOf& tgid_of) {
  if (!on_ || table_.size() == 0) return;
  if (!(mask & kCloses)) {
    other_events_++;  // which of the opener's files it was is unknown
    return;
  }
  // A close of a file whose target is gone: the opener's entries whose fd no longer holds
  // their file end.
  int32_t tgid = tgid_of(event_pid);
  IoTable::Ended ended;
  IoEnd how = IoEnd::kUnknown;  // endOfClose(): one read of the closer's stat, if anything ends
  for (const auto& [key, fd] : table_.entriesOf(tgid)) {
    if (fdIsFile(tgid, fd, key.file.dev, key.file.ino)) continue;
    if (how == IoEnd::kUnknown) how = endOfClose(event_pid);
    table_.end(key, how, now_ns, &ended);
  }
  if (ended.summaries.empty()) other_events_++;
  push(ended);
}

void IoMarks::poll(uint64_t now_ns, uint64_t drained_epoch) {
  if (!on_) return;
  if (now_ns >= next_sweep_) {
    sweep(now_ns, drained_epoch);
    next_sweep_ = table_.size() ? now_ns + kSweepNs : UINT64_MAX;
  }
  if (table_.settling()) {
    IoTable::Ended ended;
    table_.settle(drained_epoch, &ended);
    push(ended);
  }
  if (table_.size() == 0) next_sweep_ = UINT64_MAX;
}

void IoMarks::sweep(uint64_t now_ns, uint64_t drained_epoch) {
  for (const auto& [tgid, start] : table_.openers())
    if (processEnding(tgid, start))
      table_.endOpenerAfterDrain(tgid, IoEnd::kExited, drained_epoch, now_ns);
}

uint64_t IoMarks::nextDeadline() const {
  if (!on_) return UINT64_MAX;
  return table_.settling() ? 0 : next_sweep_;
}

void IoMarks::finish(uint64_t now_ns) {
  if (!on_) return;
  IoTable::Ended ended;
  table_.endAll(IoEnd::kWatcherStopped, now_ns, &ended);
  ended.unused_files.clear();  // the group's close removes every mark at once
  push(ended);
  held_.clear();
  // Off until the next start(); as on the eBPF backend, stats after stop say tracking is not
  // running.
  on_ = false;
  next_sweep_ = UINT64_MAX;
  syncGauges();
}

void IoMarks::push(const IoTable::Ended& ended) {
  for (const CaptureRecord& rec : ended.summaries)
    if (sink_->push(rec)) summaries_++;
  for (const IoTable::FileKey& file : ended.unused_files) unmark(file);
  syncGauges();
}

void IoMarks::untracked() {
  untracked_++;
  sink_->lost(LossCause::kIoSummaryLost, 1);
}

void IoMarks::syncGauges() {
  entries_ = table_.size();
  marks_ = held_.size();
}

void IoMarks::stats(std::map<std::string, uint64_t>* out) const {
  // The eBPF backend's keys (io_tracker.h), which the watcher's stats().io reads ...
  (*out)["io_tracking"] = on_.load() ? 1 : 0;
  (*out)["io_tracked"] = tracked_.load();
  (*out)["io_untracked"] = untracked_.load();
  (*out)["io_events_lost"] = 0;  // no ring of its own: summaries go straight to the ring
  (*out)["io_summaries"] = summaries_.load();
  // ... and fanotify's own.
  (*out)["io_entries"] = entries_.load();
  (*out)["io_marks"] = marks_.load();
  (*out)["io_access_events"] = access_events_.load();
  (*out)["io_modify_events"] = modify_events_.load();
  (*out)["io_other_events"] = other_events_.load();
  (*out)["io_merged_opens"] = merged_opens_.load();
  (*out)["io_closed_early"] = closed_early_.load();
  (*out)["io_unmark_failures"] = unmark_failures_.load();
}

}  // namespace pmg
