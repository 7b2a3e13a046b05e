// Reading /proc/<pid>/mountinfo (proc(5)), shared by every backend that looks for procfs
// mounts: the audit backend (one rule set per procfs device) and the fanotify backend (one
// mark per procfs instance, and the path of a bind-mounted mem file inside its procfs).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace pmg {

// The fields of one mountinfo line that the backends use:
// "36 35 98:0 /root /mountpoint rw,noatime master:1 - proc proc rw".
struct MountInfo {
  std::string mount_id;  // as written (the mnt_id of fdinfo)
  unsigned major = 0, minor = 0;
  std::string root;        // unescaped: the mount's root inside its filesystem
  std::string mountpoint;  // unescaped
  std::string fstype;      // "proc" for a procfs
};

// False if `line` is not a well-formed mountinfo line.
bool parseMountInfoLine(std::string_view line, MountInfo* out);
// Calls fn for each well-formed line of a mountinfo file's text.
void forEachMount(std::string_view text, const std::function<void(const MountInfo&)>& fn);
// The same for the mountinfo file at `path` (up to 4 MiB); false if it could not be read.
bool forEachMountIn(const std::string& path, const std::function<void(const MountInfo&)>& fn);
// Unescapes a mountinfo path field (\040 for space, \011 tab, \012 newline, \134 backslash).
std::string unescapeMountPath(std::string_view field);

// Calls fn(pid, mount namespace inode) once for each mount namespace that has a process in it,
// with the first process found in it (its /proc/<pid>/mountinfo and root reach its mounts).
void forEachMountNamespace(const std::function<void(int32_t pid, uint64_t mnt_ns)>& fn);

}  // namespace pmg
