// Unit tests of the mountinfo reader (native/util/mountinfo.h) on text, without a kernel.
// Built and run by test/native/cxx-units.test.ts.
#include "util/mountinfo.h"

#include <string>
#include <vector>

#include "check.h"

using pmg::MountInfo;

int main() {
  MountInfo m;
  CHECK(pmg::parseMountInfoLine(
      "22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw", &m));
  CHECK(m.mount_id == "22" && m.major == 0 && m.minor == 21 && m.root == "/" &&
        m.mountpoint == "/proc" && m.fstype == "proc");
  // No optional fields; escaped spaces, tabs, newlines and backslashes in paths.
  CHECK(pmg::parseMountInfoLine("40 22 0:5 /12 /mnt/my\\040proc\\011x - proc none rw", &m));
  CHECK(m.root == "/12" && m.mountpoint == "/mnt/my proc\tx" && m.minor == 5);
  CHECK(pmg::unescapeMountPath("a\\134b\\012c") == "a\\b\nc");
  CHECK(pmg::unescapeMountPath("\\04") == "\\04");      // cut short: kept as it is
  CHECK(pmg::unescapeMountPath("\\089x") == "\\089x");  // not octal: kept as it is
  // Not mountinfo lines.
  CHECK(!pmg::parseMountInfoLine("", &m));
  CHECK(!pmg::parseMountInfoLine("22 1 0:21 / /proc rw", &m));        // no " - "
  CHECK(!pmg::parseMountInfoLine("22 1 021 / /proc rw - proc", &m));  // no major:minor
  CHECK(!pmg::parseMountInfoLine("22 1 0:x / /proc rw - proc", &m));
  CHECK(!pmg::parseMountInfoLine("22 1 0:21 / /proc rw - ", &m));   // no filesystem type
  CHECK(!pmg::parseMountInfoLine("22 1 0:21 - proc proc rw", &m));  // fields missing
  // A whole file: the good lines, in order, the bad ones skipped.
  std::vector<std::string> seen;
  pmg::forEachMount(
      "1 0 8:1 / / rw - ext4 /dev/sda1 rw\ngarbage\n22 1 0:21 / /proc rw - proc proc rw\n"
      "30 22 0:40 / /proc/sys/fs/binfmt_misc rw - binfmt_misc none rw",
      [&](const MountInfo& x) { seen.push_back(x.fstype + "@" + x.mountpoint); });
  CHECK((seen ==
         std::vector<std::string>{"ext4@/", "proc@/proc", "binfmt_misc@/proc/sys/fs/binfmt_misc"}));
  return pmg_test::checkSummary();
}
