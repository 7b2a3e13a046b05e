// Unit tests of the one mem path parser (native/util/mem_path.h) as each backend uses it:
// names as passed to open(2) (audit: self and thread-self are the opener) and paths the
// kernel resolved (fanotify: "self" is a directory name, " (deleted)" marks a target that is
// gone). Built and run by test/native/cxx-units.test.ts.
#include "util/mem_path.h"

#include <string>

#include "check.h"
#include "fanotify/event_path.h"

using pmg::MemPath;
using pmg::parseMemPath;
using pmg::SelfNames;

int main() {
  // Joining a name to its directory, lexically.
  CHECK(pmg::joinPath("/proc/12", "mem") == "/proc/12/mem");
  CHECK(pmg::joinPath("/root", "../proc/./self/mem") == "/proc/self/mem");
  CHECK(pmg::joinPath("/x", "/proc/1/mem") == "/proc/1/mem");
  CHECK(pmg::joinPath("/", "..") == "/");

  // Names as passed (audit).
  MemPath m;
  CHECK(parseMemPath("/proc/12/mem", SelfNames::kAccept, &m) && m.pid == 12 && !m.task && !m.self);
  CHECK(parseMemPath("/proc/12/task/13/mem", SelfNames::kAccept, &m) && m.pid == 12 &&
        m.tid == 13 && m.task);
  CHECK(parseMemPath("/proc/self/mem", SelfNames::kAccept, &m) && m.self && !m.task);
  CHECK(parseMemPath("/proc/thread-self/mem", SelfNames::kAccept, &m) && m.self && m.thread_self &&
        m.task);
  CHECK(parseMemPath("/proc/self/task/9/mem", SelfNames::kAccept, &m) && m.self && m.tid == 9);
  CHECK(parseMemPath("/mnt/p/77/mem", SelfNames::kAccept, &m) && m.pid == 77);  // dev decides
  CHECK(!parseMemPath("/proc/12/maps", SelfNames::kAccept, &m));
  CHECK(!parseMemPath("/proc/12/task/x/mem", SelfNames::kAccept, &m));
  CHECK(!parseMemPath("/proc/mem", SelfNames::kAccept, &m));
  CHECK(!parseMemPath("/proc/thread-self/task/3/mem", SelfNames::kAccept, &m));

  // Pids: decimal in 1..kMaxPid, nothing else.
  CHECK(parseMemPath("/proc/1073741823/mem", SelfNames::kAccept, &m) && m.pid == pmg::kMaxPid);
  CHECK(!parseMemPath("/proc/1073741824/mem", SelfNames::kAccept, &m));
  CHECK(!parseMemPath("/proc/0/mem", SelfNames::kAccept, &m));
  CHECK(!parseMemPath("/proc/-1/mem", SelfNames::kAccept, &m));
  CHECK(!parseMemPath("/proc/+1/mem", SelfNames::kAccept, &m));
  CHECK(!parseMemPath("/proc/99999999999/mem", SelfNames::kAccept, &m));
  CHECK(!parseMemPath("", SelfNames::kAccept, &m) && !parseMemPath("mem", SelfNames::kAccept, &m));
  // Empty components are skipped; a bind mount of a task directory reads as <tid>/mem.
  CHECK(parseMemPath("//proc//12///mem", SelfNames::kAccept, &m) && m.pid == 12);
  CHECK(parseMemPath("/mnt/task/5/mem", SelfNames::kAccept, &m) && m.pid == 5 && !m.task);

  // Paths the kernel resolved (fanotify): "self" is just a name there.
  CHECK(!parseMemPath("/proc/self/mem", SelfNames::kReject, &m));
  CHECK(!parseMemPath("/proc/thread-self/mem", SelfNames::kReject, &m));
  CHECK(parseMemPath("/proc/12/task/12/mem", SelfNames::kReject, &m) && m.pid == 12 &&
        m.tid == 12 && m.task && !m.self);
  bool deleted = false;
  CHECK(pmg::parseEventPath("/proc/42/mem (deleted)", &m, &deleted) && deleted && m.pid == 42);
  CHECK(pmg::parseEventPath("/proc/42/mem", &m, &deleted) && !deleted);
  CHECK(!pmg::parseEventPath("/proc/42/maps (deleted)", &m, &deleted) && deleted);
  CHECK(!pmg::parseEventPath(" (deleted)", &m, &deleted));
  CHECK(!pmg::parseEventPath("/proc/self/mem", &m, &deleted));
  return pmg_test::checkSummary();
}
