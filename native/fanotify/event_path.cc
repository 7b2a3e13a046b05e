#include "event_path.h"

#include <sstream>

#include "../util/proc_files.h"
#include "procfs_instances.h"

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
  std::string info, mnt_id, mountinfo, line;
  if (!readSmallFile("/proc/self/fdinfo/" + std::to_string(fd), &info) ||
      !fieldValue(info, "mnt_id", &mnt_id) ||
      !readSmallFile("/proc/self/mountinfo", &mountinfo, 4 << 20))
    return false;
  std::istringstream lines(mountinfo);
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string id, parent, majmin, root, mountpoint;
    if (!(fields >> id >> parent >> majmin >> root >> mountpoint) || id != mnt_id) continue;
    root = unescapeMountPath(root);
    mountpoint = unescapeMountPath(mountpoint);
    if (path.compare(0, mountpoint.size(), mountpoint) != 0) return false;
    std::string rest = path.substr(mountpoint == "/" ? 0 : mountpoint.size());
    *fs_path = (root == "/" ? "" : root) + rest;
    return true;
  }
  return false;
}

}  // namespace pmg
