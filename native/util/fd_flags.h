// The open(2) flags another process opened a file with, read from its /proc/<pid>/fd and
// fdinfo while it holds the file. Every backend that cannot take the flags from the syscall
// itself uses these: fanotify (its event fd carries the watcher's flags, not the opener's) and
// audit (openat2's flags sit in the opener's memory, io_uring records carry none).
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <functional>

namespace pmg {

// The first descriptor of /proc/<pid>/fd that `match` accepts (given its number and a stat of
// its file), or -1; -2 when the process has no fd directory (it exited). stat() of the fd
// links and readdir of the fd directory are not opens, so this adds no procfs open events.
int findOpenerFd(int32_t pid, const std::function<bool(int fd, const struct stat&)>& match);
// The open(2) flags of descriptor `fd` of process `pid`, from its fdinfo.
bool readFdFlags(int32_t pid, int fd, int32_t* flags);
// The flags of descriptor `fd` of `pid` if it still refers to the file (dev, ino).
bool readFdFlagsIfFile(int32_t pid, int fd, uint64_t dev, uint64_t ino, int32_t* flags);
// Looks through /proc/<pid>/fd for a descriptor on (dev, ino) and reads its fdinfo flags.
// `gone` (optional) is set when the process has no fd directory any more.
bool readOpenerFlags(int32_t pid, uint64_t dev, uint64_t ino, int32_t* flags, int32_t* fd,
                     bool* gone = nullptr);

}  // namespace pmg
