// Which procfs mem file a path names, from its last components only: <pid>/mem or
// <pid>/task/<tid>/mem. Never a "/proc" prefix, so bind mounts and other procfs instances
// count; whether the file is on procfs is for the caller to check (superblock or device).
// One parser for every backend; fuzzed by test/fuzz/mem_path_fuzz.cc.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace pmg {

constexpr int32_t kMaxPid = 0x3fffffff;  // FUTEX_TID_MASK: above any pid the kernel hands out

struct MemPath {
  int32_t pid = 0;    // <pid> as written (in the procfs instance's pid namespace); 0 for self
  int32_t tid = 0;    // task/<tid>, else 0
  bool task = false;  // .../task/<tid>/mem, or thread-self/mem
  bool self = false;  // <pid> was "self" or "thread-self": the opener itself
  bool thread_self = false;  // "thread-self": the opening thread
};

enum class SelfNames {
  kAccept,  // names as passed to open(2) (audit): self and thread-self are the opener
  kReject,  // names the kernel resolved (d_path of an open file): "self" is just a directory name
};

// True if the last components of `path` are <pid>/mem or <pid>/task/<tid>/mem, <pid> and
// <tid> decimal in 1..kMaxPid (or self / thread-self, with SelfNames::kAccept). Empty
// components ("a//b") are skipped. A ".../task/<tid>/mem" whose <pid> is not one (a bind mount
// of a task directory) is read as <tid>/mem.
bool parseMemPath(std::string_view path, SelfNames self_names, MemPath* out);

// The mem file of a process under a procfs mount: "<procfs>/<pid>/mem", or with `tid` > 0
// "<procfs>/<pid>/task/<tid>/mem".
std::string memPathUnder(std::string_view procfs, int32_t pid, int32_t tid);

// `base` + "/" + `name` (name as is when absolute), with "." and ".." removed lexically.
std::string joinPath(std::string_view base, std::string_view name);

}  // namespace pmg
