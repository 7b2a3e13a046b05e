#include "mem_path.h"

#include <sstream>
#include <vector>

#include "../util/proc_files.h"
#include "procfs_instances.h"

namespace pmg {
namespace {

bool asPid(const std::string& s, int32_t* out) {
  uint64_t v = 0;
  if (!parseDecimal(s, &v) || v == 0 || v > 0x3fffffff) return false;
  *out = static_cast<int32_t>(v);
  return true;
}

}  // namespace

bool parseMemPath(const std::string& raw, MemPath* out) {
  static const std::string kDeleted = " (deleted)";
  std::string path = raw;
  *out = MemPath{};
  if (path.size() > kDeleted.size() &&
      path.compare(path.size() - kDeleted.size(), kDeleted.size(), kDeleted) == 0) {
    path.resize(path.size() - kDeleted.size());
    out->deleted = true;
  }
  std::vector<std::string> parts;  // the last four components are enough
  size_t end = path.size();
  while (parts.size() < 4 && end > 0) {
    size_t slash = path.rfind('/', end - 1);
    size_t begin = slash == std::string::npos ? 0 : slash + 1;
    parts.push_back(path.substr(begin, end - begin));
    if (slash == std::string::npos) break;
    end = slash;
  }
  if (parts.size() < 2 || parts[0] != "mem") return false;
  if (parts.size() >= 4 && parts[2] == "task" && asPid(parts[1], &out->tid) &&
      asPid(parts[3], &out->pid)) {
    out->thread = true;
    return true;
  }
  if (!asPid(parts[1], &out->pid)) return false;
  out->tid = out->pid;
  return true;
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
