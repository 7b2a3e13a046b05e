// Unit tests of PendingFlags (native/fanotify/pending_flags.h) without a kernel: the fdinfo
// look-up is a table the test controls. Built and run by test/native/pending-flags.test.ts;
// prints "ok N" or the failures.
#include <fcntl.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <vector>

#include "fanotify/pending_flags.h"

using pmg::CaptureRecord;
using pmg::FlagsSource;
using pmg::PendingFlags;

static int failures = 0, checks = 0;
#define CHECK(cond)                                               \
  do {                                                            \
    checks++;                                                     \
    if (!(cond)) {                                                \
      failures++;                                                 \
      std::printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
    }                                                             \
  } while (0)

namespace {

constexpr uint64_t kMs = 1000 * 1000;

CaptureRecord record(int32_t pid, uint64_t ino) {
  CaptureRecord r;
  std::memset(&r, 0, sizeof r);
  r.host_pid = r.host_tid = pid;
  r.dev = 23;
  r.inode = ino;
  return r;
}

// What the opener's fd table holds: (pid, ino) -> flags. Absent pids have exited.
struct FdTables {
  std::map<std::pair<int32_t, uint64_t>, int32_t> held;
  std::map<int32_t, bool> alive;
  int probes = 0;
  PendingFlags::Probe probe() {
    return [this](const CaptureRecord& r, int32_t* flags, int32_t* fd) {
      probes++;
      auto it = held.find({r.host_pid, r.inode});
      if (it != held.end()) {
        *flags = it->second;
        *fd = 7;
        return PendingFlags::Probed::kFound;
      }
      return alive.count(r.host_pid) ? PendingFlags::Probed::kNotFound
                                     : PendingFlags::Probed::kGone;
    };
  }
};

int access(const CaptureRecord& r) { return r.open_flags & O_ACCMODE; }
FlagsSource source(const CaptureRecord& r) { return static_cast<FlagsSource>(r.flags_source); }

}  // namespace

int main() {
  std::vector<CaptureRecord> out;

  {  // The fd appears after the event (opener preempted before fd_install): exact flags.
    PendingFlags p;
    FdTables t;
    t.alive[10] = true;
    p.wait(record(10, 1), 0, false, &out);
    CHECK(out.empty() && p.waiting() == 1);
    CHECK(p.nextDeadline() == PendingFlags::kRetryNs[0]);
    p.poll(PendingFlags::kRetryNs[0], t.probe(), &out);
    CHECK(out.empty());  // not installed yet: still waiting, never guessed
    t.held[{10, 1}] = O_RDWR;
    p.poll(PendingFlags::kRetryNs[1], t.probe(), &out);
    CHECK(out.size() == 1 && access(out[0]) == O_RDWR && source(out[0]) == FlagsSource::kFdinfo);
    CHECK(out.size() == 1 && out[0].return_value == 7);
    CHECK(p.waiting() == 0 && p.nextDeadline() == UINT64_MAX);
    CHECK(p.counters().late_fdinfo == 1);
    out.clear();
  }

  {  // However long the opener stays off the CPU, no O_RDONLY comes from time alone.
    PendingFlags p;
    FdTables t;
    t.alive[11] = true;
    p.wait(record(11, 2), 0, false, &out);
    for (uint64_t now = 0; now <= 2000 * kMs && out.empty(); now += kMs) p.poll(now, t.probe(), &out);
    CHECK(out.size() == 1 && access(out[0]) == O_RDWR);
    CHECK(out.size() == 1 && source(out[0]) == FlagsSource::kUnknown);
    CHECK(p.counters().timed_out == 1);
    CHECK(t.probes == static_cast<int>(PendingFlags::kRetries));  // bounded look-ups
    out.clear();
  }

  {  // A close resolves the waiting record: read-only close -> O_RDONLY, write-close -> O_RDWR.
    PendingFlags p;
    p.wait(record(12, 3), 0, false, &out);
    p.wait(record(13, 3), 0, false, &out);
    CHECK(!p.closed(23, 3, 99, false, &out));  // another process's close: not ours
    CHECK(out.empty());
    CHECK(p.closed(23, 3, 12, false, &out));
    CHECK(out.size() == 1 && out[0].host_pid == 12 && access(out[0]) == O_RDONLY);
    CHECK(out.size() == 1 && source(out[0]) == FlagsSource::kInferred);
    CHECK(p.closed(23, 3, 13, true, &out));
    CHECK(out.size() == 2 && out[1].host_pid == 13 && access(out[1]) == O_RDWR);
    CHECK(p.waiting() == 0);
    out.clear();
  }

  {  // Two waiting opens of one file by one process: each close resolves the oldest.
    PendingFlags p;
    CaptureRecord a = record(14, 4), b = record(14, 4);
    a.timestamp_ns = 1;
    b.timestamp_ns = 2;
    p.wait(a, 0, false, &out);
    p.wait(b, 0, false, &out);
    CHECK(p.closed(23, 4, 14, false, &out) && out.size() == 1 && out[0].timestamp_ns == 1);
    CHECK(p.closed(23, 4, 14, true, &out) && out.size() == 2 && out[1].timestamp_ns == 2);
    CHECK(out.size() == 2 && access(out[1]) == O_RDWR);
    out.clear();
  }

  {  // Merged read-only close of an earlier open: after the whole schedule without a fd, the
     // open's own close was merged too: O_RDONLY inferred, not unknown.
    PendingFlags p;
    FdTables t;
    t.alive[15] = true;
    p.wait(record(15, 5), 0, true, &out);
    for (uint64_t now = 0; now <= 2000 * kMs && out.empty(); now += kMs) p.poll(now, t.probe(), &out);
    CHECK(out.size() == 1 && access(out[0]) == O_RDONLY && source(out[0]) == FlagsSource::kInferred);
    out.clear();
  }

  {  // A watched read-only record: a write-capable fd of the same file appearing later (a reopen
     // merged into the same event) is reported again with its flags.
    PendingFlags p;
    FdTables t;
    t.alive[16] = true;
    p.watch(record(16, 6), 0);
    p.poll(PendingFlags::kRetryNs[0], t.probe(), &out);
    CHECK(out.empty() && p.watching() == 1);
    t.held[{16, 6}] = O_WRONLY;
    p.poll(PendingFlags::kRetryNs[1], t.probe(), &out);
    CHECK(out.size() == 1 && access(out[0]) == O_WRONLY && source(out[0]) == FlagsSource::kFdinfo);
    CHECK(p.watching() == 0 && p.counters().reemitted == 1);
    out.clear();
  }

  {  // A watched record: a read-only fd is no news; the watch ends after kWatchChecks look-ups.
    PendingFlags p;
    FdTables t;
    t.alive[17] = true;
    t.held[{17, 7}] = O_RDONLY;
    p.watch(record(17, 7), 0);
    for (uint64_t now = 0; now <= 2000 * kMs; now += kMs) p.poll(now, t.probe(), &out);
    CHECK(out.empty() && p.watching() == 0);
    CHECK(t.probes == static_cast<int>(PendingFlags::kWatchChecks));
  }

  {  // A watched record: a later write-close of the file is reported as a write.
    PendingFlags p;
    p.watch(record(18, 8), 0);
    CHECK(!p.closed(23, 8, 18, false, &out) && out.empty());  // read-only close: no news
    CHECK(!p.closed(23, 8, 18, true, &out));
    CHECK(out.size() == 1 && access(out[0]) == O_RDWR && source(out[0]) == FlagsSource::kInferred);
    out.clear();
  }

  {  // A watched record of an opener that exited is dropped at its next look-up.
    PendingFlags p;
    FdTables t;
    p.watch(record(19, 9), 0);
    p.poll(PendingFlags::kRetryNs[0], t.probe(), &out);
    CHECK(out.empty() && p.watching() == 0 && p.nextDeadline() == UINT64_MAX);
  }

  {  // Bounds: more than kMaxWaiting waiting pushes the oldest out as unknown, none is lost.
    PendingFlags p;
    for (size_t i = 0; i < PendingFlags::kMaxWaiting + 10; i++)
      p.wait(record(100000 + static_cast<int32_t>(i), 10), 0, false, &out);
    CHECK(out.size() == 10 && p.waiting() == PendingFlags::kMaxWaiting);
    CHECK(out.size() == 10 && out[0].host_pid == 100000 && source(out[0]) == FlagsSource::kUnknown);
    CHECK(p.counters().pushed_out == 10);
    out.clear();
    p.flush(&out);  // at stop every waiting record goes out
    CHECK(out.size() == PendingFlags::kMaxWaiting && p.waiting() == 0);
    out.clear();
    for (size_t i = 0; i < PendingFlags::kMaxWatching + 5; i++)
      p.watch(record(200000 + static_cast<int32_t>(i), 11), 0);
    CHECK(p.watching() == PendingFlags::kMaxWatching && p.counters().watch_dropped == 5);
    p.flush(&out);
    CHECK(out.empty() && p.watching() == 0);  // watches were already reported
  }

  std::printf("%s %d checks%s\n", failures ? "FAILED" : "ok", checks,
              failures ? "" : " passed");
  return failures ? 1 : 0;
}
