// Recognises a procfs mem file from the path its event fd resolves to. Only the tail is
// used (".../<pid>/mem" or ".../<pid>/task/<tid>/mem"), never a "/proc" prefix, so bind
// mounts and other procfs instances count; the caller has already checked that the file is
// a regular 0600 file on a marked procfs superblock.
#pragma once

#include <cstdint>
#include <string>

namespace pmg {

struct MemPath {
  int32_t pid = 0;       // in the pid namespace of the procfs instance
  int32_t tid = 0;       // = pid unless thread
  bool thread = false;   // .../task/<tid>/mem
  bool deleted = false;  // d_path said " (deleted)": the target is gone
};

bool parseMemPath(const std::string& path, MemPath* out);

// For a file named "mem" whose path holds no pid (a bind mount of /proc/<pid> or of a task
// directory elsewhere): the path inside its procfs, from the mount's root in our mountinfo
// (found by the mnt_id in our fdinfo of `fd`). False if it cannot be worked out.
bool procfsPathOf(int fd, const std::string& path, std::string* fs_path);

}  // namespace pmg
