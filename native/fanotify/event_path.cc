#include "event_path.h"

#include "../util/mountinfo.h"
#include "../util/proc_files.h"

namespace pmg {

bool parseEventPath(const std::string& path, MemPath* out, bool* deleted) {
  static const std::string kDeleted = " (deleted)";
  *deleted = path.size() > kDeleted.size() &&
             path.compare(path.size() - kDeleted.size(), kDeleted.size(), kDeleted) == 0;
  std::string_view p(path);
  if (*deleted) p.remove_suffix(kDeleted.size());
  return parseMemPath(p, SelfNames::kReject, out);
}

bool procfsPathOf(int fd, const std::string& path, std::string* fs_path) {
  std::string info, mnt_id;
  if (!readSmallFile("/proc/self/fdinfo/" + std::to_string(fd), &info) ||
      !fieldValue(info, "mnt_id", &mnt_id))
    return false;
  bool found = false, ok = false;
  forEachMountIn("/proc/self/mountinfo", [&](const MountInfo& m) {
    if (found || m.mount_id != mnt_id) return;
    found = true;
    if (path.compare(0, m.mountpoint.size(), m.mountpoint) != 0) return;
    std::string rest = path.substr(m.mountpoint == "/" ? 0 : m.mountpoint.size());
    *fs_path = (m.root == "/" ? "" : m.root) + rest;
    ok = true;
  });
  return ok;
}

}  // namespace pmg
