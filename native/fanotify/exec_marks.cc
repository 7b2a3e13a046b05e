#include "exec_marks.h"

#include <fcntl.h>
#include <sys/fanotify.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <sstream>

#include "../util/proc_files.h"
#include "procfs_instances.h"

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
  std::string mountinfo;
  if (!readSmallFile("/proc/self/mountinfo", &mountinfo, 4 << 20)) {
    *failed = "cannot read /proc/self/mountinfo";
    return 0;
  }
  std::istringstream lines(mountinfo);
  std::string line;
  std::set<dev_t> marked;
  int count = 0;
  while (std::getline(lines, line)) {
    size_t sep = line.find(" - ");
    if (sep == std::string::npos) continue;
    std::istringstream tail(line.substr(sep + 3));
    std::string type;
    if (!(tail >> type) || isPseudoFs(type)) continue;
    std::istringstream fields(line.substr(0, sep));
    std::string mount_id, parent, majmin, root, mountpoint;
    if (!(fields >> mount_id >> parent >> majmin >> root >> mountpoint)) continue;
    std::string path = unescapeMountPath(mountpoint);
    struct stat st;
    if (stat(path.c_str(), &st) != 0 || marked.count(st.st_dev)) continue;  // one per superblock
    if (fanotify_mark(group, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FAN_OPEN_EXEC, AT_FDCWD,
                      path.c_str()) != 0) {
      if (failed->empty()) *failed = path + " (" + type + "): " + std::strerror(errno);
      continue;
    }
    marked.insert(st.st_dev);
    ++count;
  }
  return count;
}

}  // namespace pmg
