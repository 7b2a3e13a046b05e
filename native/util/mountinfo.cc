#include "mountinfo.h"

#include <dirent.h>

#include <unordered_set>

#include "proc_files.h"

namespace pmg {

namespace {

// The next space-separated field of `s` from `*pos`; empty at the end.
std::string_view nextField(std::string_view s, size_t* pos) {
  while (*pos < s.size() && s[*pos] == ' ') ++*pos;
  size_t end = s.find(' ', *pos);
  if (end == std::string_view::npos) end = s.size();
  std::string_view field = s.substr(*pos, end - *pos);
  *pos = end;
  return field;
}

bool parseUnsigned(std::string_view s, unsigned* out) {
  uint64_t v = 0;
  if (!parseDecimal(std::string(s), &v) || v > 0xffffffffu) return false;
  *out = static_cast<unsigned>(v);
  return true;
}

}  // namespace

bool parseMountInfoLine(std::string_view line, MountInfo* out) {
  size_t sep = line.find(" - ");
  if (sep == std::string_view::npos) return false;
  std::string_view head = line.substr(0, sep), tail = line.substr(sep + 3);
  size_t pos = 0;
  std::string_view id = nextField(head, &pos), parent = nextField(head, &pos);
  std::string_view majmin = nextField(head, &pos), root = nextField(head, &pos);
  std::string_view mountpoint = nextField(head, &pos);
  size_t colon = majmin.find(':');
  if (id.empty() || parent.empty() || mountpoint.empty() || colon == std::string_view::npos ||
      !parseUnsigned(majmin.substr(0, colon), &out->major) ||
      !parseUnsigned(majmin.substr(colon + 1), &out->minor))
    return false;
  pos = 0;
  std::string_view fstype = nextField(tail, &pos);
  if (fstype.empty()) return false;
  out->mount_id = std::string(id);
  out->root = unescapeMountPath(root);
  out->mountpoint = unescapeMountPath(mountpoint);
  out->fstype = std::string(fstype);
  return true;
}

void forEachMount(std::string_view text, const std::function<void(const MountInfo&)>& fn) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    MountInfo m;
    if (parseMountInfoLine(text.substr(pos, end - pos), &m)) fn(m);
    pos = end + 1;
  }
}

bool forEachMountIn(const std::string& path, const std::function<void(const MountInfo&)>& fn) {
  std::string text;
  if (!readSmallFile(path, &text, 4 << 20)) return false;
  forEachMount(text, fn);
  return true;
}

std::string unescapeMountPath(std::string_view field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      int v = 0;
      bool ok = true;
      for (size_t k = 1; k <= 3; ++k) {
        char c = field[i + k];
        if (c < '0' || c > '7') ok = false;
        v = v * 8 + (c - '0');
      }
      if (ok) {
        out.push_back(static_cast<char>(v));
        i += 3;
        continue;
      }
    }
    out.push_back(field[i]);
  }
  return out;
}

void forEachMountNamespace(const std::function<void(int32_t pid, uint64_t mnt_ns)>& fn) {
  DIR* dir = opendir("/proc");
  if (!dir) return;
  std::unordered_set<uint64_t> seen;
  while (struct dirent* e = readdir(dir)) {
    uint64_t pid = 0;
    std::string target;
    if (!parseDecimal(e->d_name, &pid) || pid == 0 || pid > 0x7fffffff ||
        !readLink(std::string("/proc/") + e->d_name + "/ns/mnt", &target))
      continue;
    uint64_t ns = nsInodeOf(target);
    if (ns != 0 && seen.insert(ns).second) fn(static_cast<int32_t>(pid), ns);
  }
  closedir(dir);
}

}  // namespace pmg
