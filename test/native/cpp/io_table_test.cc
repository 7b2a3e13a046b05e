// Unit tests of the fanotify backend's observed-access bookkeeping (native/fanotify/io_table.h)
// and of the stat-line parser it relies on (native/util/task_stat.h), without a kernel. Built
// and run by test/native/cxx-units.test.ts.
#include "fanotify/io_table.h"

#include <cstdint>
#include <cstring>
#include <string>

#include "check.h"
#include "util/task_stat.h"

using pmg::CaptureRecord;
using pmg::IoEnd;
using pmg::IoTable;

namespace {

CaptureRecord openOf(int32_t pid, uint64_t ino, int32_t fd, uint64_t mono) {
  CaptureRecord r;
  std::memset(&r, 0, sizeof r);
  r.host_pid = r.host_tid = pid;
  r.dev = 22;
  r.inode = ino;
  r.return_value = fd;
  r.monotonic_ns = mono;
  r.timestamp_ns = mono + 1'000'000'000'000;  // realtime = monotonic + 1000 s
  r.target_pid = 77;
  return r;
}

IoTable::Key keyOf(int32_t pid, uint64_t ino) { return IoTable::Key{pid, {22, ino}}; }

void testSummary() {
  IoTable t;
  bool first = false;
  CHECK(t.add(openOf(10, 5, 3, 1000), 42, &first) == IoTable::Added::kTracked);
  CHECK(first);
  CHECK(t.tracked(keyOf(10, 5)) && t.fileTracked({22, 5}) && !t.fileTracked({22, 6}));
  CHECK(t.count(keyOf(10, 5), true, false));
  CHECK(t.count(keyOf(10, 5), true, true));  // a merged access + modify: one of each
  CHECK(!t.count(keyOf(11, 5), true, false));  // another process: not counted
  IoTable::Ended out;
  CHECK(t.end(keyOf(10, 5), IoEnd::kClosed, 5000, &out));
  CHECK(out.summaries.size() == 1);
  const CaptureRecord& s = out.summaries[0];
  CHECK(s.record_kind == static_cast<uint8_t>(pmg::RecordKind::kIoSummary));
  CHECK(s.io_end == static_cast<uint8_t>(IoEnd::kClosed));
  CHECK(s.io_reads == 2 && s.io_writes == 1);
  CHECK(s.io_bytes_read == 0 && s.io_bytes_written == 0 && (s.record_flags & pmg::kIoBytesUnknown));
  CHECK(s.io_fd == 3 && s.io_open_monotonic_ns == 1000 && s.target_pid == 77);
  // The summary's realtime keeps the open's offset: its timestamp minus the open's is the
  // duration.
  CHECK(s.monotonic_ns == 5000 && s.timestamp_ns - 1'000'000'001'000 == 4000);
  CHECK(out.unused_files.size() == 1 && out.unused_files[0] == (IoTable::FileKey{22, 5}));
  CHECK(!t.end(keyOf(10, 5), IoEnd::kClosed, 6000, &out));  // once only
  CHECK(t.size() == 0 && t.files() == 0);
  // An end read in the same batch as its open: never before it.
  t.add(openOf(10, 5, 3, 9000), 42, &first);
  IoTable::Ended early;
  t.end(keyOf(10, 5), IoEnd::kClosed, 8000, &early);
  CHECK(early.summaries[0].monotonic_ns == 9000);
}

void testSharedFileAndMergedOpens() {
  IoTable t;
  bool first = false;
  t.add(openOf(10, 5, 3, 1), 1, &first);
  CHECK(first);
  CHECK(t.add(openOf(11, 5, 4, 2), 1, &first) == IoTable::Added::kTracked);
  CHECK(!first);  // a second opener of the same file: the mark is there already
  // The same opener opening the same file again: its entry goes on, the first open's fd.
  CHECK(t.add(openOf(10, 5, 9, 3), 1, &first) == IoTable::Added::kAlready);
  IoTable::Ended out;
  t.end(keyOf(10, 5), IoEnd::kClosed, 10, &out);
  CHECK(out.summaries.size() == 1 && out.summaries[0].io_fd == 3);
  CHECK(out.unused_files.empty());  // opener 11 is still on it
  t.end(keyOf(11, 5), IoEnd::kExited, 11, &out);
  CHECK(out.unused_files.size() == 1);
}

void testBound() {
  IoTable t;
  bool first = false;
  for (size_t i = 0; i < IoTable::kMaxEntries; i++)
    CHECK(t.add(openOf(static_cast<int32_t>(100 + i), 5, 3, 1), 1, &first) ==
          IoTable::Added::kTracked);
  CHECK(t.add(openOf(99999, 5, 3, 1), 1, &first) == IoTable::Added::kFull);
  CHECK(t.size() == IoTable::kMaxEntries && t.files() == 1);
  CHECK(!t.tracked(keyOf(99999, 5)));
}

void testEndAfterDrain() {
  IoTable t;
  bool first = false;
  t.add(openOf(10, 5, 3, 1), 111, &first);
  t.add(openOf(10, 6, 4, 1), 111, &first);
  t.add(openOf(12, 5, 3, 1), 222, &first);
  CHECK(t.openers().size() == 2 && t.openers().at(10) == 111 && t.openers().at(12) == 222);
  CHECK(t.entriesOf(10).size() == 2 && t.entriesOf(11).empty());
  t.endOpenerAfterDrain(10, IoEnd::kExited, 7, 500);
  CHECK(t.settling());
  IoTable::Ended out;
  t.settle(7, &out);  // not read empty since: events queued before may still come
  CHECK(out.summaries.empty());
  CHECK(t.count(keyOf(10, 5), true, false));  // ... and count
  t.settle(8, &out);
  CHECK(out.summaries.size() == 2 && !t.settling());
  CHECK(out.summaries[0].io_end == static_cast<uint8_t>(IoEnd::kExited));
  CHECK(out.summaries[0].io_reads == 1 && out.summaries[0].monotonic_ns == 500);
  CHECK(out.unused_files.size() == 1 && out.unused_files[0] == (IoTable::FileKey{22, 6}));
  CHECK(t.size() == 1 && t.tracked(keyOf(12, 5)));
  // A close read before the drain ends it as that close says, once.
  t.endAfterDrain(keyOf(12, 5), IoEnd::kExited, 9, 600);
  IoTable::Ended closed;
  CHECK(t.end(keyOf(12, 5), IoEnd::kClosed, 650, &closed));
  CHECK(closed.summaries[0].io_end == static_cast<uint8_t>(IoEnd::kClosed));
  t.settle(10, &closed);
  CHECK(closed.summaries.size() == 1 && !t.settling());
}

void testEndAll() {
  IoTable t;
  bool first = false;
  t.add(openOf(10, 5, 3, 1), 1, &first);
  t.add(openOf(11, 5, 3, 1), 1, &first);
  t.endAfterDrain(keyOf(11, 5), IoEnd::kExited, 1, 40);
  IoTable::Ended out;
  t.endAll(IoEnd::kWatcherStopped, 50, &out);
  CHECK(out.summaries.size() == 2 && t.size() == 0 && !t.settling());
  // An end already seen is kept; the others end as stopped.
  CHECK(out.summaries[0].io_end == static_cast<uint8_t>(IoEnd::kWatcherStopped));
  CHECK(out.summaries[1].io_end == static_cast<uint8_t>(IoEnd::kExited));
  CHECK(out.summaries[1].monotonic_ns == 40);
}

void testTaskStat() {
  pmg::TaskStat st;
  // comm with spaces and parentheses; flags (field 9) 0x400104 | PF_EXITING; start 12345.
  std::string line =
      "42 (a) b) c) Z 1 42 42 0 -1 4194564 0 0 0 0 0 0 0 0 20 0 1 0 12345 0 0 18446744073709551615";
  CHECK(pmg::parseTaskStat(line.data(), line.size(), &st));
  CHECK(st.comm == "a) b) c" && st.state == 'Z' && st.flags == 4194564 && st.start_ticks == 12345);
  CHECK(pmg::taskEnding(st));
  std::string live = "7 (sleep) S 1 7 7 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 99 0";
  CHECK(pmg::parseTaskStat(live.data(), live.size(), &st));
  CHECK(st.state == 'S' && !pmg::taskEnding(st) && st.start_ticks == 99);
  std::string exiting = "7 (sleep) R 1 7 7 0 -1 4194564 0 0 0 0 0 0 0 0 20 0 1 0 99 0";
  CHECK(pmg::parseTaskStat(exiting.data(), exiting.size(), &st) && pmg::taskEnding(st));
  for (const char* bad : {"", "7 sleep S 1", "7 (sleep)", "7 (sleep) S 1 2 3"}) {
    std::string s(bad);
    CHECK(!pmg::parseTaskStat(s.data(), s.size(), &st));
  }
}

}  // namespace

int main() {
  testSummary();
  testSharedFileAndMergedOpens();
  testBound();
  testEndAfterDrain();
  testEndAll();
  testTaskStat();
  return pmg_test::checkSummary();
}
