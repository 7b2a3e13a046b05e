// Open flags of mem opens whose opener's descriptor was not in its fd table when the event was
// read. Pure logic (no syscalls): the fdinfo look-up is passed in, so the rules are unit-tested
// without a kernel (test/native/cpp/pending_flags_test.cc).
//
// Why a record waits: fanotify queues FAN_OPEN inside the open, before the new fd is installed
// in the opener's table. Not finding the fd therefore means either "not installed yet" (the
// opener was preempted between the two) or "already closed". The mark mask holds FAN_CLOSE
// (write and nowrite), so a close is always announced by an event of its own (or merged into
// the open's). A record without its fd waits until either
//   - its fd shows up in the opener's fdinfo (looked up again on a back-off schedule): exact
//     flags, FlagsSource::kFdinfo; or
//   - a close of the same file by the same process arrives: the opener closed it, and the close
//     says whether it was open for writing: O_RDWR (a write-close; reads cannot be ruled out)
//     or O_RDONLY, FlagsSource::kInferred; or
//   - the schedule runs out (1.5 s; the close went to another process sharing the file, or the
//     kernel queue overflowed and dropped it): O_RDWR, FlagsSource::kUnknown, so both
//     signatures fire. One exception: when the open event also carried a read-only close that
//     belonged to an earlier open (fanotify merged them), this open's own close may have been
//     merged too; after 1.5 s without a fd that is what happened, and it is O_RDONLY inferred.
// Nothing else is inferred from time, so a live O_RDWR holder is never reported O_RDONLY.
//
// A record reported O_RDONLY by inference stays watched for a short while: fanotify merges a
// later open of the same file by the same process into the still-queued event, so an
// open-close-reopen for writing can look like one read-only open. If a write-capable fd of that
// file appears, or a write-close of it arrives, the record is reported again as such.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <tuple>
#include <vector>

#include "../record.h"

namespace pmg {

class PendingFlags {
 public:
  // When a waiting record's fdinfo is looked up again, counted from its open event. A preempted
  // opener installs its fd within a scheduler slice or two of running again, even on a loaded
  // host; the tail covers an opener stopped for a long time.
  static constexpr uint64_t kRetryNs[] = {100'000,    500'000,     2'000'000,   8'000'000,
                                          32'000'000, 128'000'000, 512'000'000, 1'500'000'000};
  static constexpr size_t kRetries = sizeof(kRetryNs) / sizeof(kRetryNs[0]);
  // How long an inferred O_RDONLY record is watched for a write-capable fd (look-ups at the
  // first kWatchChecks retry times).
  static constexpr size_t kWatchChecks = 6;  // up to 128 ms
  // Bounds: the oldest waiting record goes out as unknown when more wait; the oldest watch
  // is dropped (it was already reported).
  static constexpr size_t kMaxWaiting = 4096;
  static constexpr size_t kMaxWatching = 1024;

  // Looks for the opener's fd on the record's file: kFound with its open flags and fd number,
  // kGone when the opener has no fd table any more (it exited).
  enum class Probed { kFound, kNotFound, kGone };
  using Probe = std::function<Probed(const CaptureRecord&, int32_t* flags, int32_t* fd)>;

  struct Counters {
    uint64_t waited = 0;         // records that had to wait
    uint64_t late_fdinfo = 0;    // ... and then found their fd
    uint64_t by_close = 0;       // ... resolved by a close event
    uint64_t timed_out = 0;      // ... ran out of retries (reported unknown)
    uint64_t pushed_out = 0;     // ... reported unknown because kMaxWaiting were waiting
    uint64_t reemitted = 0;      // inferred O_RDONLY records reported again with write access
    uint64_t watch_dropped = 0;  // watches dropped at kMaxWatching
  };

  // A record whose fd was not found at its open event. `merged_read_close`: the event also
  // carried a read-only close (and no write-close) that belonged to an earlier open.
  void wait(const CaptureRecord& rec, uint64_t now_ns, bool merged_read_close,
            std::vector<CaptureRecord>* out);
  // A record just reported with flags inferred O_RDONLY: watch it for write access.
  void watch(const CaptureRecord& rec, uint64_t now_ns);
  // A close of (dev, ino) by process `pid` (write: FAN_CLOSE_WRITE). Resolves the oldest record
  // waiting for that file and process; otherwise a write-close upgrades a watched record.
  // Returns true if the close belonged to a waiting record (it is then not this event's own).
  bool closed(uint64_t dev, uint64_t ino, int32_t pid, bool write, std::vector<CaptureRecord>* out);
  // Looks up again every record that is due; what is resolved goes to `out`.
  void poll(uint64_t now_ns, const Probe& probe, std::vector<CaptureRecord>* out);
  // At stop: every waiting record goes out as unknown.
  void flush(std::vector<CaptureRecord>* out);
  // When poll() should run next, or UINT64_MAX when nothing is scheduled.
  uint64_t nextDeadline() const;
  size_t waiting() const { return waiting_count_; }
  size_t watching() const { return entries_.size() - waiting_count_; }
  const Counters& counters() const { return counters_; }

 private:
  struct Key {
    uint64_t dev, ino;
    int32_t pid;
    bool operator<(const Key& o) const {
      return std::tie(dev, ino, pid) < std::tie(o.dev, o.ino, o.pid);
    }
  };
  struct Entry {
    CaptureRecord rec;
    uint64_t opened_ns;
    size_t step;      // index into kRetryNs of the next look-up
    uint64_t due_ns;  // when that look-up is due
    bool watching;    // already reported as inferred O_RDONLY
    bool merged_read_close;
  };
  using Due = std::pair<uint64_t, uint64_t>;  // (deadline, id)

  static Key keyOf(const CaptureRecord& r) { return Key{r.dev, r.inode, r.host_pid}; }
  uint64_t insert(const CaptureRecord& rec, uint64_t now_ns, bool watching, bool merged = false);
  void erase(std::map<uint64_t, Entry>::iterator it);
  // Schedules the entry's next look-up; false when it has none left.
  bool schedule(uint64_t id, Entry* e);
  void finishWaiting(std::map<uint64_t, Entry>::iterator it, int32_t flags, FlagsSource source,
                     std::vector<CaptureRecord>* out);

  uint64_t next_id_ = 1;
  std::map<uint64_t, Entry> entries_;             // by id: ids grow, so oldest first
  std::map<Key, std::vector<uint64_t>> by_file_;  // ids per (file, opener), oldest first
  std::set<Due> due_;                             // next look-up of every entry
  size_t waiting_count_ = 0;
  Counters counters_;
};

// Sets open_flags and flags_source of a record whose flags are known to be unknowable.
void setUnknownFlags(CaptureRecord* rec);

}  // namespace pmg
