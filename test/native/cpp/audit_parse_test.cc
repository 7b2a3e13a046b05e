// Unit tests of the audit record parser and the assembler, without a kernel. Built and run by
// test/native/cxx-units.test.ts (the mem path parser: mem_path_test.cc).
#include <linux/audit.h>
#include <sys/sysmacros.h>

#include <cstdio>
#include <string>
#include <vector>

#include "audit/records.h"
#include "check.h"

using namespace pmg::audit;

int main() {
  // decodeValue: quoted, hex (a name with a space), (null).
  CHECK(decodeValue("\"/proc/1/mem\"") == "/proc/1/mem");
  CHECK(decodeValue("2F746D702F6120622F6D656D") == "/tmp/a b/mem");
  CHECK(decodeValue("(null)").empty());
  std::string_view raw;
  CHECK(findField("a0=1 pid=42 ppid=7", "pid", &raw) && raw == "42");
  CHECK(!findField("ppid=7", "pid", &raw));

  // Assembler: one openat event, records interleaved with another serial; EOE completes it.
  Assembler a(2, 2000,
              [](const AuditEvent& ev) { return ev.arch == 0xc000003e && ev.syscall == 257; });
  std::vector<AuditEvent> done;
  uint64_t incomplete = 0;
  CHECK(a.feed(AUDIT_SYSCALL,
               "audit(1.000:10): arch=c000003e syscall=257 success=yes exit=3 a0=ffffff9c a1=1 "
               "a2=1 a3=0 items=1 ppid=1 pid=100 uid=0 gid=0 comm=\"dd\" exe=\"/usr/bin/dd\" "
               "key=\"procmem-guard\"",
               0, &done, &incomplete));
  CHECK(a.feed(AUDIT_SYSCALL, "audit(1.000:11): arch=c000003e syscall=0 success=yes exit=0", 0,
               &done, &incomplete));  // read(2): not wanted, not held
  CHECK(a.pending() == 1);
  CHECK(a.feed(AUDIT_CWD, "audit(1.000:10): cwd=\"/proc/5\"", 0, &done, &incomplete));
  CHECK(a.feed(AUDIT_PATH,
               "audit(1.000:10): item=0 name=\"mem\" inode=99 dev=00:15 mode=0100600 ouid=0 "
               "ogid=0 rdev=00:00 nametype=NORMAL",
               0, &done, &incomplete));
  CHECK(a.feed(AUDIT_EOE, "audit(1.000:10): ", 0, &done, &incomplete));
  CHECK(done.size() == 1 && a.pending() == 0);
  if (done.size() == 1) {
    const AuditEvent& ev = done[0];
    CHECK(ev.pid == 100 && ev.ppid == 1 && ev.comm == "dd" && ev.exe == "/usr/bin/dd");
    CHECK(ev.key == "procmem-guard" && ev.success && ev.exit == 3 && ev.args[2] == 1);
    CHECK(static_cast<int32_t>(ev.args[0]) == -100);
    CHECK(ev.cwd == "/proc/5" && ev.paths.size() == 1);
    CHECK(ev.paths[0].name == "mem" && ev.paths[0].inode == 99);
    CHECK(ev.paths[0].dev == makedev(0, 0x15) && ev.paths[0].mode == 0100600);
  }
  CHECK(!a.feed(AUDIT_PATH, "garbage", 0, &done, &incomplete));

  // Bounds: a third pending event pushes out the oldest; one without PATH counts as incomplete,
  // one with a PATH is still delivered. Expiry after max_age.
  done.clear();
  const char* sc = "arch=c000003e syscall=257 success=yes exit=3 pid=1";
  a.feed(AUDIT_SYSCALL, std::string("audit(2.000:20): ") + sc, 0, &done, &incomplete);
  a.feed(AUDIT_PATH, "audit(2.000:20): item=0 name=\"/proc/1/mem\" dev=00:15", 0, &done,
         &incomplete);
  a.feed(AUDIT_SYSCALL, std::string("audit(2.000:21): ") + sc, 0, &done, &incomplete);
  a.feed(AUDIT_SYSCALL, std::string("audit(2.000:22): ") + sc, 0, &done, &incomplete);
  CHECK(done.size() == 1 && done[0].serial == 20 && incomplete == 0 && a.pending() == 2);
  a.feed(AUDIT_SYSCALL, std::string("audit(2.000:23): ") + sc, 0, &done, &incomplete);
  CHECK(incomplete == 1 && a.pending() == 2);
  a.expire(1999, &done, &incomplete);
  CHECK(a.pending() == 2);
  a.expire(2000, &done, &incomplete);
  CHECK(a.pending() == 0 && incomplete == 3);

  // io_uring: URINGOP starts the event (arch 0, op number in `syscall`).
  Assembler u(8, 2000, [](const AuditEvent& ev) { return ev.arch == 0 && ev.syscall == 18; });
  done.clear();
  u.feed(AUDIT_URINGOP, "audit(3.000:30): uring_op=18 success=yes exit=0 items=1 ppid=1 pid=5", 0,
         &done, &incomplete);
  u.feed(AUDIT_PATH, "audit(3.000:30): item=0 name=\"/proc/9/mem\" dev=00:15", 0, &done,
         &incomplete);
  u.feed(AUDIT_EOE, "audit(3.000:30): ", 0, &done, &incomplete);
  CHECK(done.size() == 1 && done[0].pid == 5 && done[0].paths.size() == 1);

  return pmg_test::checkSummary();
}
