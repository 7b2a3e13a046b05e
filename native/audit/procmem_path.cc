#include "procmem_path.h"

#include <vector>

namespace pmg::audit {

namespace {

std::vector<std::string_view> split(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    if (end > pos) parts.push_back(path.substr(pos, end - pos));
    pos = end + 1;
  }
  return parts;
}

bool parsePid(std::string_view s, int32_t* out) {
  if (s.empty() || s.size() > 10) return false;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  if (v <= 0 || v > INT32_MAX) return false;
  *out = static_cast<int32_t>(v);
  return true;
}

// <pid> component: digits, or self / thread-self.
bool parseOwner(std::string_view s, MemPath* m) {
  if (s == "self") return m->self = true;
  if (s == "thread-self") return m->self = m->thread_self = m->task = true;
  return parsePid(s, &m->pid);
}

}  // namespace

std::string joinPath(std::string_view base, std::string_view name) {
  std::string joined;
  if (!name.empty() && name.front() == '/') {
    joined = name;
  } else {
    joined = base;
    joined += '/';
    joined += name;
  }
  std::vector<std::string_view> out;
  for (std::string_view part : split(joined)) {
    if (part == ".") continue;
    if (part == "..") {
      if (!out.empty()) out.pop_back();
      continue;
    }
    out.push_back(part);
  }
  std::string result;
  for (std::string_view part : out) {
    result += '/';
    result += part;
  }
  return result.empty() ? "/" : result;
}

bool parseMemPath(std::string_view path, MemPath* out) {
  std::vector<std::string_view> p = split(path);
  size_t n = p.size();
  if (n < 2 || p[n - 1] != "mem") return false;
  MemPath m;
  if (n >= 4 && p[n - 3] == "task") {
    if (!parsePid(p[n - 2], &m.tid) || !parseOwner(p[n - 4], &m) || m.thread_self) return false;
    m.task = true;
  } else if (!parseOwner(p[n - 2], &m)) {
    return false;
  }
  *out = m;
  return true;
}

}  // namespace pmg::audit
