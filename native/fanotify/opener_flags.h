// The opener's real open(2) flags. fanotify's event fd carries the watcher's flags, so they
// are read from the opener's /proc/<pid>/fdinfo while it still holds the file, and otherwise
// inferred from the FAN_CLOSE_WRITE that follows (see PendingFlags).
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "../record.h"

namespace pmg {

// The first descriptor of /proc/<pid>/fd that `match` accepts (given its number and a stat of
// its file), or -1. stat() of the fd links and readdir of the fd directory are not opens, so
// this adds no procfs open events.
int findOpenerFd(int32_t pid, const std::function<bool(int fd, const struct stat&)>& match);
// The open(2) flags of descriptor `fd` of process `pid`, from its fdinfo.
bool readFdFlags(int32_t pid, int fd, int32_t* flags);
// Looks through /proc/<pid>/fd for a descriptor on (dev, ino) and reads its fdinfo flags.
bool readOpenerFlags(int32_t pid, uint64_t dev, uint64_t ino, int32_t* flags, int32_t* fd);

// Records whose opener had already closed the file. fanotify queues FAN_CLOSE_WRITE for a
// file opened for writing when it is closed; that close happened before we found the fd gone,
// so it is already queued (or merged into the open event). A record waits until the kernel
// queue has been read empty after a short grace time (the close may sit behind a storm of
// other events): a write-close means it was opened for writing (reported O_RDWR: reads are
// possible too and cannot be ruled out), none means O_RDONLY, both FlagsSource::kInferred.
// After a kernel queue overflow the close may have been dropped, and a record that waited
// longer than kPendingMaxNs is not delayed further: those become kUnknown.
// The grace is short (it bounds open-to-finding latency of fast readers): a write-close that
// still arrives after its record went out as O_RDONLY (the opener was preempted between
// dropping the fd and the final fput) re-emits the record as O_RDWR, so a write is never
// missed; the read finding it already gave stands.
class PendingFlags {
 public:
  static constexpr uint64_t kPendingGraceNs = 250ull * 1000;
  static constexpr uint64_t kPendingMaxNs = 1000ull * 1000 * 1000;
  static constexpr uint64_t kLateCloseNs = 1000ull * 1000 * 1000;  // how long O_RDONLY is revisable

  // `drained_epoch`: how many times the kernel queue had been read empty so far.
  void add(const CaptureRecord& rec, uint64_t now_ns, uint64_t drained_epoch);
  // A FAN_CLOSE_WRITE of (dev, ino) by process `pid`: moves matching records to `out`, or
  // re-emits as O_RDWR a record that already went out inferred O_RDONLY (a late close).
  bool closedForWrite(uint64_t dev, uint64_t ino, int32_t pid, uint64_t now_ns,
                      std::vector<CaptureRecord>* out);
  // Records whose grace time passed with the queue read empty since they were added, or that
  // waited too long (all of them if now_ns == UINT64_MAX).
  void expire(uint64_t now_ns, uint64_t drained_epoch, std::vector<CaptureRecord>* out);
  // The kernel dropped events: nothing waiting can be inferred any more.
  void markUncertain();
  // When expire() should run next, or UINT64_MAX when nothing waits.
  uint64_t nextDeadline() const;
  bool empty() const { return waiting_.empty(); }

 private:
  struct Waiting {
    CaptureRecord rec;
    uint64_t added_ns;
    uint64_t epoch;  // drained_epoch when added
    bool uncertain;
  };
  std::vector<Waiting> waiting_;  // few at a time: a linear scan is the cheapest structure
  // Records that went out inferred O_RDONLY in the last kLateCloseNs (bounded, oldest dropped).
  std::vector<std::pair<uint64_t, CaptureRecord>> inferred_read_;
  static constexpr size_t kInferredReadMax = 256;
};

// Sets open_flags and flags_source of a record whose flags are known to be unknowable.
void setUnknownFlags(CaptureRecord* rec);

}  // namespace pmg
