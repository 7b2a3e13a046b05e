// Which procfs mem file a path names: /proc/<pid>/mem, /proc/<pid>/task/<tid>/mem, with
// self and thread-self, after resolving a relative name against the opener's directory.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace pmg::audit {

// `base` + "/" + `name` (name as is when absolute), with "." and ".." removed lexically.
std::string joinPath(std::string_view base, std::string_view name);

struct MemPath {
  bool self = false;         // <pid> was "self" or "thread-self": the opener itself
  bool thread_self = false;  // "thread-self": the opening thread
  bool task = false;         // .../task/<tid>/mem (or thread-self/mem)
  int32_t pid = 0;           // as written in the path (opener's procfs pid namespace); 0 for self
  int32_t tid = 0;           // task/<tid>, else 0
};

// True if the last components of `path` are <pid>/mem or <pid>/task/<tid>/mem, where <pid> is
// digits, "self" or "thread-self". Says nothing about the filesystem: check dev separately.
bool parseMemPath(std::string_view path, MemPath* out);

}  // namespace pmg::audit
