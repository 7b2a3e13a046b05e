#include "mem_path.h"

#include <vector>

namespace pmg {

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
  if (v <= 0 || v > kMaxPid) return false;
  *out = static_cast<int32_t>(v);
  return true;
}

// The <pid> component: digits, or self / thread-self where those are names of the opener.
bool parseOwner(std::string_view s, SelfNames self_names, MemPath* m) {
  if (self_names == SelfNames::kAccept) {
    if (s == "self") return m->self = true;
    if (s == "thread-self") return m->self = m->thread_self = m->task = true;
  }
  return parsePid(s, &m->pid);
}

}  // namespace

bool parseMemPath(std::string_view path, SelfNames self_names, MemPath* out) {
  std::vector<std::string_view> p = split(path);
  size_t n = p.size();
  if (n < 2 || p[n - 1] != "mem") return false;
  MemPath m;
  if (n >= 4 && p[n - 3] == "task" && parsePid(p[n - 2], &m.tid)) {
    MemPath owner;
    if (parseOwner(p[n - 4], self_names, &owner)) {
      if (owner.thread_self) return false;  // thread-self/task does not exist
      owner.tid = m.tid;
      owner.task = true;
      *out = owner;
      return true;
    }
  }
  m = MemPath{};
  if (!parseOwner(p[n - 2], self_names, &m)) return false;
  *out = m;
  return true;
}

std::string memPathUnder(std::string_view procfs, int32_t pid, int32_t tid) {
  std::string path(procfs);
  path += "/" + std::to_string(pid);
  if (tid > 0) path += "/task/" + std::to_string(tid);
  return path + "/mem";
}

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

}  // namespace pmg
