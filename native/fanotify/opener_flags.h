// The opener's real open(2) flags. fanotify's event fd carries the watcher's flags, so they
// are read from the opener's /proc/<pid>/fdinfo while it holds the file (otherwise see
// pending_flags.h).
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <functional>

#include "../record.h"
#include "pending_flags.h"

namespace pmg {

// The first descriptor of /proc/<pid>/fd that `match` accepts (given its number and a stat of
// its file), or -1. stat() of the fd links and readdir of the fd directory are not opens, so
// this adds no procfs open events.
// -2 when the process has no fd directory (it exited).
int findOpenerFd(int32_t pid, const std::function<bool(int fd, const struct stat&)>& match);
// The open(2) flags of descriptor `fd` of process `pid`, from its fdinfo.
bool readFdFlags(int32_t pid, int fd, int32_t* flags);
// Where thread `tid` is relative to an open it made whose fd is not in its table (see
// pending_flags.h): kClosed when it is gone, blocked in a syscall that is not an open, blocked
// outside any syscall, or has run PendingFlags::kProgressNs of CPU since the first call
// (`cpu_mark` keeps that first reading: 0 before it); kNotYet otherwise.
PendingFlags::Probed openerProgress(int32_t tid, uint64_t* cpu_mark);
// Looks through /proc/<pid>/fd for a descriptor on (dev, ino) and reads its fdinfo flags.
// `gone` (optional) is set when the process has no fd directory any more.
bool readOpenerFlags(int32_t pid, uint64_t dev, uint64_t ino, int32_t* flags, int32_t* fd,
                     bool* gone = nullptr);

}  // namespace pmg
