// The path of a fanotify event's file, as the kernel resolved it (readlink of the event fd):
// which mem file it is, and for a bind mount of a pid or task directory, the path inside its
// procfs. The caller has already checked that the file is a regular 0600 file on a marked
// procfs superblock.
#pragma once

#include <string>

#include "../util/mem_path.h"

namespace pmg {

// parseMemPath for a resolved path: "self" is a directory name there, and d_path's
// " (deleted)" suffix (the target is gone) is taken off and reported in `deleted`.
bool parseEventPath(const std::string& path, MemPath* out, bool* deleted);

// For a file named "mem" whose path holds no pid (a bind mount of /proc/<pid> or of a task
// directory elsewhere): the path inside its procfs, from the mount's root in our mountinfo
// (found by the mnt_id in our fdinfo of `fd`). False if it cannot be worked out.
bool procfsPathOf(int fd, const std::string& path, std::string* fs_path);

}  // namespace pmg
