// Cheap reads of /proc/<pid>/task/<tid>: open/read/close into fixed buffers, no iostreams.
#pragma once

#include <cstddef>
#include <cstdint>

#include "process_table.h"

namespace pmg {
namespace procfs {

enum class ReadResult {
  kOk,      // everything read from a live task
  kZombie,  // the task has exited but is not reaped: comm/ids/start time valid, exe/ns not
  kGone,    // no such task (or it vanished mid-read)
};

// Reads the task `tid` of thread group `pid` (pid 0: unknown, read /proc/<tid>). With
// `thread_only`, reads only the per-thread fields (tid, comm, start time, ns tid, uid, gid) and
// leaves the process-wide ones in `out` untouched.
ReadResult readTask(int32_t pid, int32_t tid, bool thread_only, ProcessInfo* out);

// Reads a small file relative to `dirfd` into buf (always NUL-terminated). Returns the length
// or -1 (errno set).
long readSmallAt(int dirfd, const char* name, char* buf, size_t cap);

// Calls fn(pid) for every numeric entry of `dir_path` ("/proc" or "/proc/<pid>/task").
// Returns false if the directory could not be read.
template <typename Fn>
bool forEachPid(const char* dir_path, Fn fn);

// Nanoseconds since boot from clock ticks (field 22 of stat).
uint64_t ticksToNs(uint64_t ticks);

// Inode of our own pid namespace (the host's, when we run on the host).
uint32_t ownPidNs();

}  // namespace procfs
}  // namespace pmg

#include "procfs_inl.h"
