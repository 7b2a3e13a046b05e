// Another process's descriptors, through its /proc/<pid>/fd and fdinfo while it holds the
// file: which descriptor is on a file, the name its link gives, the open(2) flags. Every
// backend that cannot take the flags or the name from the syscall itself uses these: fanotify
// (its event fd carries the watcher's flags, not the opener's), audit (openat2's flags sit in
// the opener's memory, io_uring records carry none; a name that reaches mem through a symlink)
// and eBPF (the path of the returned fd as the opener sees it).
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <functional>
#include <string>

namespace pmg {

// "/proc/<pid>/fd/<fd>": the link of descriptor `fd` of process `pid`.
std::string fdLinkPath(int32_t pid, int fd);
// Whether descriptor `fd` of `pid` refers to the file (dev, ino) now: a stat() through its
// link (not an open, so no procfs open event).
bool fdIsFile(int32_t pid, int fd, uint64_t dev, uint64_t ino);
// The first descriptor of /proc/<pid>/fd that `match` accepts (given its number and a stat of
// its file), or -1; -2 when the process has no fd directory (it exited). stat() of the fd
// links and readdir of the fd directory are not opens, so this adds no procfs open events.
int findOpenerFd(int32_t pid, const std::function<bool(int fd, const struct stat&)>& match);
// findOpenerFd for the first descriptor on the file (dev, ino).
int findFdOnFile(int32_t pid, uint64_t dev, uint64_t ino);
// The open(2) flags of descriptor `fd` of process `pid`, from its fdinfo.
bool readFdFlags(int32_t pid, int fd, int32_t* flags);
// Looks through /proc/<pid>/fd for a descriptor on (dev, ino) and reads its fdinfo flags.
// `gone` (optional) is set when the process has no fd directory any more.
bool readOpenerFlags(int32_t pid, uint64_t dev, uint64_t ino, int32_t* flags, int32_t* fd,
                     bool* gone = nullptr);

}  // namespace pmg
