// Open flags of mem opens whose opener's descriptor was not in its fd table when the event was
// read. Pure logic (no syscalls): the look-up of the opener is passed in, so the rules are
// unit-tested without a kernel (test/native/cpp/pending_flags_test.cc).
//
// Why a record waits: fanotify queues FAN_OPEN inside the open, before the new fd is installed
// in the opener's table. Not finding the fd therefore means either "not installed yet" (the
// opener was preempted between the two, common on a loaded host) or "already closed". The two
// are told apart by the opener's progress, never by elapsed time: the fd is installed before
// the open returns, so an opener that is now in another syscall, has exited, or has run
// kProgressNs of CPU since we first looked, without the fd in its table, closed it. Until the
// look-up (Probe) says one of those, the record waits and is looked up again on a back-off
// schedule. Then:
//   - its fd shows up: exact flags from fdinfo, FlagsSource::kFdinfo;
//   - a FAN_CLOSE_WRITE of that file by that process arrives: it was open for writing, O_RDWR
//     (reads cannot be ruled out), FlagsSource::kInferred;
//   - the opener is past the open: once the kernel queue has been read empty after that
//     (drained epoch), its fd is looked for once more; absent, it closed the file, and its
//     write-close, if any, was queued at that close and read by now: none means O_RDONLY,
//     FlagsSource::kInferred;
//   - none of these within the schedule (1.5 s; the opener starved of CPU): O_RDWR,
//     FlagsSource::kUnknown, so both signatures fire.
// A thread's later event proves the same (it started another open, so it returned from this
// one): in a flood of opens by one thread, every record but the last resolves at once.
// A live O_RDWR holder is therefore never reported O_RDONLY. A write-close that arrives within
// kLateCloseNs after a record went out inferred O_RDONLY re-emits it as O_RDWR (the same process
// opened the same file for writing in between, merged by fanotify into one event).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "../record.h"

namespace pmg {

class PendingFlags {
 public:
  // When a waiting record's opener is looked up again, counted from the open event.
  static constexpr uint64_t kRetryNs[] = {100'000,    500'000,     2'000'000,   8'000'000,
                                          32'000'000, 128'000'000, 512'000'000, 1'500'000'000};
  static constexpr size_t kRetries = sizeof(kRetryNs) / sizeof(kRetryNs[0]);
  // CPU time an opener must run after our first look, without the fd showing up, before it
  // counts as past the open (the open installs its fd within microseconds of running).
  static constexpr uint64_t kProgressNs = 1'000'000;
  // How long a record inferred O_RDONLY can still be upgraded by a late write-close.
  static constexpr uint64_t kLateCloseNs = 1'000'000'000;
  // Bounds: the oldest waiting record goes out as unknown when more wait; the oldest
  // inferred-O_RDONLY record stops being upgradable (it was already reported).
  static constexpr size_t kMaxWaiting = 4096;
  static constexpr size_t kMaxReported = 1024;

  // What a look-up of the opener found.
  enum class Probed {
    kFound,   // its fd on the file: flags and fd number set
    kNotYet,  // no fd, and the opener may still be inside the open
    kClosed,  // no fd, and the opener is past the open (or gone): it closed the file
  };
  // `cpu_mark`: kept per record for the probe (the opener's CPU time at the first look + 1,
  // 0 before it), so that progress is measured from there.
  using Probe =
      std::function<Probed(const CaptureRecord&, uint64_t* cpu_mark, int32_t* flags, int32_t* fd)>;

  struct Counters {
    uint64_t waited = 0;       // records that had to wait
    uint64_t late_fdinfo = 0;  // ... and then found their fd
    uint64_t closed = 0;       // ... whose opener was past the open without it (inferred)
    uint64_t write_close = 0;  // ... resolved by a write-close (inferred O_RDWR)
    uint64_t timed_out = 0;    // ... that ran out of look-ups (unknown)
    uint64_t pushed_out = 0;   // ... reported unknown because kMaxWaiting were waiting
    uint64_t reemitted = 0;    // inferred O_RDONLY records reported again after a write-close
  };

  // A record whose fd was not found at its open event; `first` and `cpu_mark` are what the
  // probe said then. `drained_epoch`: how many times the kernel queue was read empty so far.
  void add(const CaptureRecord& rec, Probed first, uint64_t cpu_mark, uint64_t now_ns,
           uint64_t drained_epoch, std::vector<CaptureRecord>* out);
  // A FAN_CLOSE_WRITE of (dev, ino) by process `pid`: the oldest record of that file and
  // process still waiting goes out O_RDWR; else one reported O_RDONLY in the last kLateCloseNs
  // is reported again as O_RDWR. Returns false if no record was waiting or reported.
  bool writeClosed(uint64_t dev, uint64_t ino, int32_t pid, uint64_t now_ns,
                   std::vector<CaptureRecord>* out);
  // An event of thread `tid` read after its waiting records' events: the thread made another
  // open (or exec) since, so it returned from theirs: each is past its open (kClosed) unless
  // its fd is found. Cheap when `tid` has nothing waiting (one hash look-up).
  void progressed(int32_t tid, uint64_t drained_epoch);
  // Looks up every waiting record that is due, and resolves closed ones once the queue was
  // read empty after they were found closed.
  void poll(uint64_t now_ns, uint64_t drained_epoch, const Probe& probe,
            std::vector<CaptureRecord>* out);
  // At stop: every record not yet reported goes out as unknown.
  void flush(std::vector<CaptureRecord>* out);
  // When poll() should run next (0: as soon as the queue was read empty), or UINT64_MAX.
  uint64_t nextDeadline() const;
  size_t waiting() const { return waiting_count_; }
  const Counters& counters() const { return counters_; }

 private:
  enum class State { kWaiting, kClosed, kReported };
  struct Key {
    uint64_t dev, ino;
    int32_t pid;
    bool operator<(const Key& o) const {
      return std::tie(dev, ino, pid) < std::tie(o.dev, o.ino, o.pid);
    }
  };
  struct Entry {
    CaptureRecord rec;
    State state;
    uint64_t opened_ns;
    uint64_t cpu_mark;
    size_t step;            // index into kRetryNs of the next look-up (kWaiting)
    uint64_t due_ns;        // next look-up (kWaiting) or end of upgradability (kReported)
    uint64_t closed_epoch;  // drained_epoch when found closed (kClosed)
  };
  using Due = std::pair<uint64_t, uint64_t>;  // (deadline, id)

  static Key keyOf(const CaptureRecord& r) { return Key{r.dev, r.inode, r.host_pid}; }
  uint64_t insert(const CaptureRecord& rec, State state, uint64_t now_ns);
  void erase(std::map<uint64_t, Entry>::iterator it);
  void setDue(uint64_t id, Entry* e, uint64_t due_ns);
  // Schedules the next look-up of a waiting entry; false when it has none left.
  bool scheduleNext(uint64_t id, Entry* e);
  void markClosed(uint64_t id, Entry* e, uint64_t drained_epoch);
  void dropTid(uint64_t id, const Entry& e);
  // Reports an unreported entry with these flags and removes it (or keeps it as kReported).
  void report(std::map<uint64_t, Entry>::iterator it, int32_t flags, FlagsSource source,
              uint64_t now_ns, std::vector<CaptureRecord>* out);
  void dropOldest(State state, std::vector<CaptureRecord>* out);

  uint64_t next_id_ = 1;
  std::map<uint64_t, Entry> entries_;             // by id: ids grow, so oldest first
  std::map<Key, std::vector<uint64_t>> by_file_;  // ids per (file, opener), oldest first
  std::set<Due> due_;                             // look-ups and expiries, soonest first
  std::set<uint64_t> closed_;                     // ids in State::kClosed
  std::unordered_map<int32_t, std::vector<uint64_t>> by_tid_;  // kWaiting ids per opener thread
  size_t waiting_count_ = 0;                                   // kWaiting + kClosed
  size_t reported_count_ = 0;
  Counters counters_;
};

// Sets open_flags and flags_source of a record whose flags are known to be unknowable.
void setUnknownFlags(CaptureRecord* rec);

}  // namespace pmg
