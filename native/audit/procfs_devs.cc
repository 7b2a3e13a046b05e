#include "procfs_devs.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "../util/mountinfo.h"

namespace pmg::audit {

std::set<uint64_t> procfsDevicesIn(const std::string& mountinfo_path) {
  std::set<uint64_t> devs;
  forEachMountIn(mountinfo_path, [&](const MountInfo& m) {
    if (m.fstype == "proc") devs.insert(makedev(m.major, m.minor));
  });
  return devs;
}

std::set<uint64_t> procfsDevicesAllNamespaces() {
  std::set<uint64_t> devs = procfsDevicesIn("/proc/self/mountinfo");
  struct stat st;
  uint64_t own_ns = stat("/proc/self/ns/mnt", &st) == 0 ? st.st_ino : 0;
  forEachMountNamespace([&](int32_t pid, uint64_t ns) {
    if (ns == own_ns) return;
    std::set<uint64_t> more = procfsDevicesIn("/proc/" + std::to_string(pid) + "/mountinfo");
    devs.insert(more.begin(), more.end());
  });
  return devs;
}

}  // namespace pmg::audit
