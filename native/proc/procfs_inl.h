// Template part of procfs.h.
#pragma once

#include <dirent.h>

#include <cstdlib>

namespace pmg {
namespace procfs {

template <typename Fn>
bool forEachPid(const char* dir_path, Fn fn) {
  DIR* d = opendir(dir_path);
  if (d == nullptr) return false;
  while (struct dirent* e = readdir(d)) {
    const char* n = e->d_name;
    if (*n < '1' || *n > '9') continue;
    char* end = nullptr;
    long v = strtol(n, &end, 10);
    if (*end != '\0' || v <= 0 || v > 0x7fffffff) continue;
    fn(static_cast<int32_t>(v));
  }
  closedir(d);
  return true;
}

}  // namespace procfs
}  // namespace pmg
