// Unit tests of PendingFlags (native/fanotify/pending_flags.h) without a kernel: the look-up of
// the opener is a table the test controls. Built and run by test/native/cxx-units.test.ts.
#include <fcntl.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <vector>

#include "check.h"
#include "fanotify/pending_flags.h"

using pmg::CaptureRecord;
using pmg::FlagsSource;
using pmg::PendingFlags;
using Probed = PendingFlags::Probed;


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

// The openers as the test wants them: what their fd tables hold, and where they are.
struct Openers {
  std::map<std::pair<int32_t, uint64_t>, int32_t> held;  // (pid, ino) -> flags
  std::map<int32_t, Probed> state;                       // without a held fd; default kNotYet
  int probes = 0;
  PendingFlags::Probe probe() {
    return [this](const CaptureRecord& r, uint64_t* cpu_mark, int32_t* flags, int32_t* fd) {
      probes++;
      *cpu_mark = 1;
      auto it = held.find({r.host_pid, r.inode});
      if (it != held.end()) {
        *flags = it->second;
        *fd = 7;
        return Probed::kFound;
      }
      auto s = state.find(r.host_pid);
      return s == state.end() ? Probed::kNotYet : s->second;
    };
  }
};

int access(const CaptureRecord& r) { return r.open_flags & O_ACCMODE; }
FlagsSource source(const CaptureRecord& r) { return static_cast<FlagsSource>(r.flags_source); }

// Polls every millisecond up to `until_ms`, the queue read empty before each poll.
void run(PendingFlags& p, Openers& o, uint64_t until_ms, std::vector<CaptureRecord>* out,
         uint64_t* epoch) {
  for (uint64_t now = 0; now <= until_ms * kMs; now += kMs) p.poll(now, ++*epoch, o.probe(), out);
}

}  // namespace

int main() {
  std::vector<CaptureRecord> out;
  uint64_t epoch = 0;

  {  // The fd appears after the event (opener preempted before fd_install): exact flags.
    PendingFlags p;
    Openers o;
    p.add(record(10, 1), Probed::kNotYet, 0, 0, epoch, &out);
    CHECK(out.empty() && p.waiting() == 1);
    CHECK(p.nextDeadline() == PendingFlags::kRetryNs[0]);
    p.poll(PendingFlags::kRetryNs[0], ++epoch, o.probe(), &out);
    CHECK(out.empty());  // still inside the open: never guessed, however often the queue drains
    o.held[{10, 1}] = O_RDWR;
    p.poll(PendingFlags::kRetryNs[1], ++epoch, o.probe(), &out);
    CHECK(out.size() == 1 && access(out[0]) == O_RDWR && source(out[0]) == FlagsSource::kFdinfo);
    CHECK(out.size() == 1 && out[0].return_value == 7);
    CHECK(p.waiting() == 0 && p.nextDeadline() == UINT64_MAX);
    CHECK(p.counters().late_fdinfo == 1);
    out.clear();
  }

  {  // An opener that never gets past its open: no O_RDONLY from time, unknown after the
     // schedule, with a bounded number of look-ups.
    PendingFlags p;
    Openers o;
    p.add(record(11, 2), Probed::kNotYet, 0, 0, epoch, &out);
    run(p, o, 2000, &out, &epoch);
    CHECK(out.size() == 1 && access(out[0]) == O_RDWR);
    CHECK(out.size() == 1 && source(out[0]) == FlagsSource::kUnknown);
    CHECK(p.counters().timed_out == 1);
    CHECK(o.probes == static_cast<int>(PendingFlags::kRetries));
    out.clear();
  }

  {  // Past the open without the fd: closed. Reported O_RDONLY only once the queue was read
     // empty after that (a write-close queued at the close must have been seen by then).
    PendingFlags p;
    Openers o;
    o.state[12] = Probed::kClosed;
    p.add(record(12, 3), Probed::kNotYet, 0, 0, epoch, &out);
    p.poll(PendingFlags::kRetryNs[0], epoch, o.probe(), &out);  // found closed, queue not drained
    CHECK(out.empty() && p.nextDeadline() == 0);
    p.poll(PendingFlags::kRetryNs[0], epoch, o.probe(), &out);
    CHECK(out.empty());
    p.poll(PendingFlags::kRetryNs[0], ++epoch, o.probe(), &out);
    CHECK(out.size() == 1 && access(out[0]) == O_RDONLY && source(out[0]) == FlagsSource::kInferred);
    CHECK(p.counters().closed == 1 && p.waiting() == 0);
    out.clear();
  }

  {  // Closed at the first look, and its write-close arrives before the queue is drained.
    PendingFlags p;
    Openers o;
    p.add(record(13, 4), Probed::kClosed, 0, 0, epoch, &out);
    CHECK(!p.writeClosed(23, 4, 99, 0, &out) && out.empty());  // another process's close
    CHECK(p.writeClosed(23, 4, 13, 0, &out));
    CHECK(out.size() == 1 && access(out[0]) == O_RDWR && source(out[0]) == FlagsSource::kInferred);
    p.poll(0, ++epoch, o.probe(), &out);
    CHECK(out.size() == 1 && p.waiting() == 0);
    out.clear();
  }

  {  // Two waiting opens of one file by one process: a write-close resolves the oldest.
    PendingFlags p;
    CaptureRecord a = record(14, 5), b = record(14, 5);
    a.timestamp_ns = 1;
    b.timestamp_ns = 2;
    p.add(a, Probed::kNotYet, 0, 0, epoch, &out);
    p.add(b, Probed::kNotYet, 0, 0, epoch, &out);
    CHECK(p.writeClosed(23, 5, 14, 0, &out) && out.size() == 1 && out[0].timestamp_ns == 1);
    CHECK(p.waiting() == 1);
    out.clear();
  }

  {  // A write-close shortly after a record went out inferred O_RDONLY reports it again as
     // O_RDWR (a reopen for writing merged into the same event); later ones do not.
    PendingFlags p;
    Openers o;
    p.add(record(15, 6), Probed::kClosed, 0, 0, epoch, &out);
    p.poll(0, ++epoch, o.probe(), &out);
    CHECK(out.size() == 1 && access(out[0]) == O_RDONLY);
    CHECK(p.writeClosed(23, 6, 15, 500 * kMs, &out));
    CHECK(out.size() == 2 && access(out[1]) == O_RDWR && p.counters().reemitted == 1);
    CHECK(!p.writeClosed(23, 6, 15, 600 * kMs, &out) && out.size() == 2);  // once only
    p.add(record(16, 6), Probed::kClosed, 0, 0, epoch, &out);
    p.poll(0, ++epoch, o.probe(), &out);
    p.poll(PendingFlags::kLateCloseNs + 1, ++epoch, o.probe(), &out);  // upgradability ends
    CHECK(!p.writeClosed(23, 6, 16, PendingFlags::kLateCloseNs + 2, &out) && out.size() == 3);
    CHECK(p.nextDeadline() == UINT64_MAX);
    out.clear();
  }

  {  // A later event of the same thread: it returned from the open. Its fd, if it holds it, is
     // found at resolution; otherwise O_RDONLY once the queue was read empty.
    PendingFlags p;
    Openers o;
    p.progressed(21, epoch);  // nothing waiting: no-op
    p.add(record(21, 12), Probed::kNotYet, 0, 0, epoch, &out);
    p.add(record(22, 13), Probed::kNotYet, 0, 0, epoch, &out);
    p.progressed(21, epoch);
    CHECK(p.nextDeadline() == 0 && out.empty());
    o.held[{22, 13}] = O_WRONLY;
    p.progressed(22, epoch);
    p.poll(0, ++epoch, o.probe(), &out);
    CHECK(out.size() == 2);
    CHECK(out.size() == 2 && out[0].host_pid == 21 && access(out[0]) == O_RDONLY &&
          source(out[0]) == FlagsSource::kInferred);
    CHECK(out.size() == 2 && out[1].host_pid == 22 && access(out[1]) == O_WRONLY &&
          source(out[1]) == FlagsSource::kFdinfo);
    CHECK(p.waiting() == 0);
    out.clear();
  }

  {  // The cpu mark the probe keeps travels with the record.
    PendingFlags p;
    uint64_t seen = 0;
    p.add(record(17, 7), Probed::kNotYet, 42, 0, epoch, &out);
    p.poll(PendingFlags::kRetryNs[0], ++epoch,
           [&](const CaptureRecord&, uint64_t* mark, int32_t*, int32_t*) {
             seen = *mark;
             return Probed::kNotYet;
           },
           &out);
    CHECK(seen == 42);
  }

  {  // Bounds: more than kMaxWaiting waiting pushes the oldest out as unknown, none is lost;
     // at stop every record not reported goes out.
    PendingFlags p;
    for (size_t i = 0; i < PendingFlags::kMaxWaiting + 10; i++)
      p.add(record(100000 + static_cast<int32_t>(i), 10), Probed::kNotYet, 0, 0, epoch, &out);
    CHECK(out.size() == 10 && p.waiting() == PendingFlags::kMaxWaiting);
    CHECK(out.size() == 10 && out[0].host_pid == 100000 && source(out[0]) == FlagsSource::kUnknown);
    CHECK(p.counters().pushed_out == 10);
    out.clear();
    p.flush(&out);
    CHECK(out.size() == PendingFlags::kMaxWaiting && p.waiting() == 0);
    out.clear();
    Openers o;
    for (size_t i = 0; i < PendingFlags::kMaxReported + 5; i++)
      p.add(record(200000 + static_cast<int32_t>(i), 11), Probed::kClosed, 0, 0, epoch, &out);
    p.poll(0, ++epoch, o.probe(), &out);
    CHECK(out.size() == PendingFlags::kMaxReported + 5);  // all reported O_RDONLY
    out.clear();
    CHECK(!p.writeClosed(23, 11, 200000, 0, &out));  // the oldest is no longer upgradable
    CHECK(p.writeClosed(23, 11, 200000 + static_cast<int32_t>(PendingFlags::kMaxReported), 0, &out));
    out.clear();
    p.flush(&out);
    CHECK(out.empty());  // already reported
  }

  return pmg_test::checkSummary();
}
