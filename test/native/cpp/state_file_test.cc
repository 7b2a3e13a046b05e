// Unit tests of the audit state file's parser and validation (native/audit/state_file.h)
// without a kernel. Built and run by test/native/cxx-units.test.ts.
#include <string>

#include "audit/state_file.h"
#include "check.h"

using pmg::audit::parseState;
using pmg::audit::SavedState;
using pmg::audit::validateState;

int main() {
  const std::string good =
      "# comment\nversion=1\nowner_pid=42\norig_enabled=0\nset_enabled=1\n"
      "orig_backlog_limit=64\nset_backlog_limit=8192\nregistered_pid=42\ndaemon_at_start=0\n"
      "orig_backlog_wait_time=15000\nset_backlog_wait_time=0\n";
  SavedState s;
  std::string err;
  CHECK(parseState(good, &s, &err) && validateState(s).empty());
  CHECK(s.owner_pid == 42 && s.set_backlog_limit == 8192 && s.orig_backlog_wait_time == 15000);

  // Malformed: each names its line.
  CHECK(!parseState("version=1\nowner_pid=4x2\n", &s, &err) && err == "line 2: not key=integer");
  CHECK(!parseState("version=1\nbogus=1\n", &s, &err) && err.find("line 2: unknown key") == 0);
  CHECK(!parseState("owner_pid=1\n", &s, &err) && err == "no version line");
  CHECK(!parseState("version=2\n", &s, &err) && err.find("unknown version") != std::string::npos);
  CHECK(!parseState("version=1\nowner_pid=99999999999\n", &s, &err));
  CHECK(!parseState("version=1\norig_enabled=99999999999999999999\n", &s, &err));

  // Well-formed but never applied: a locked enabled flag, absurd backlogs, bad pids.
  auto bad = [&](const std::string& line) {
    SavedState t;
    std::string e;
    return parseState(good + line + "\n", &t, &e) && !validateState(t).empty();
  };
  CHECK(bad("orig_enabled=2"));
  CHECK(bad("set_enabled=2"));
  CHECK(bad("set_backlog_limit=999999999"));
  CHECK(bad("orig_backlog_limit=-5"));
  CHECK(bad("orig_backlog_wait_time=99999999"));
  CHECK(bad("owner_pid=0"));
  CHECK(bad("registered_pid=-7"));
  CHECK(!bad("orig_backlog_limit=0"));  // 0 = unlimited, an administrator's choice
  return pmg_test::checkSummary();
}
