#include "exec_marks.h"

#include <fcntl.h>
#include <sys/fanotify.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "../util/mountinfo.h"

namespace pmg {
namespace {

// Filesystems that hold no executables worth naming (or cannot be marked).
bool isPseudoFs(const std::string& type) {
  static const std::set<std::string> kPseudo = {
      "proc",    "sysfs",       "cgroup",     "cgroup2", "devpts",   "mqueue",    "debugfs",
      "tracefs", "securityfs",  "bpf",        "pstore",  "configfs", "fusectl",   "hugetlbfs",
      "autofs",  "binfmt_misc", "rpc_pipefs", "nsfs",    "efivarfs", "selinuxfs", "ramfs"};
  return kPseudo.count(type) != 0;
}

}  // namespace

int markExecFilesystems(int group, std::string* failed) {
  std::set<dev_t> marked;
  int count = 0;
  bool read = forEachMountIn("/proc/self/mountinfo", [&](const MountInfo& m) {
    if (isPseudoFs(m.fstype)) return;
    struct stat st;
    if (stat(m.mountpoint.c_str(), &st) != 0 || marked.count(st.st_dev)) return;  // one per sb
    if (fanotify_mark(group, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FAN_OPEN_EXEC, AT_FDCWD,
                      m.mountpoint.c_str()) != 0) {
      if (failed->empty()) *failed = m.mountpoint + " (" + m.fstype + "): " + std::strerror(errno);
      return;
    }
    marked.insert(st.st_dev);
    ++count;
  });
  if (!read) *failed = "cannot read /proc/self/mountinfo";
  return count;
}

}  // namespace pmg
