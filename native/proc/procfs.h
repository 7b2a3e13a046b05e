// Cheap reads of /proc/<pid>/task/<tid>: open/read/close into fixed buffers, no iostreams.
#pragma once

#include <dirent.h>
#include <sys/stat.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "process_table.h"

namespace pmg {
namespace procfs {

enum class ReadResult {
  kOk,      // everything read from a live task
  kZombie,  // the task has exited but is not reaped: comm/ids/start time valid, exe/ns not
  kGone,    // no such task (or it vanished mid-read)
  kError,   // could not read for another reason (EMFILE, ENOMEM, EACCES...): says nothing
            // about whether the task lives
};

// What readTask reads; what it does not read is left as it is in `out`.
enum class Fields {
  kAll,
  // Per-thread fields only: tid, tgid, comm, start time, ns tid/pid, uid, gid. For a new thread
  // (`out` holds its leader).
  kThread,
  // A new process before exec: kThread plus ppid and namespaces. exe, cgroup and container are
  // left as they are in `out` (the parent's, which a child shares until it execs): fewer
  // syscalls, so the read more often wins the race against a child that exits at once.
  kForked,
};

// Reads the task `tid` of thread group `pid` (pid 0: unknown, read /proc/<tid>).
ReadResult readTask(int32_t pid, int32_t tid, Fields fields, ProcessInfo* out);

// Re-reads only what a live task can change without exec and without a proc connector event:
// mnt_ns, pid_ns, cgroup_id, container_id.
ReadResult readVolatile(int32_t pid, int32_t tid, ProcessInfo* out);

// Reads a small file relative to `dirfd` into buf (always NUL-terminated). Returns the length
// or -1 (errno set).
long readSmallAt(int dirfd, const char* name, char* buf, size_t cap);

// Calls fn(pid) for every numeric entry of `dir_path` ("/proc" or "/proc/<pid>/task").
// Returns false if the directory could not be read.
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

// Path of the executable with this (device, inode), as last read from some /proc/<pid>/exe,
// or "" if never seen. `kernel_dev` is encoded like the kernel's huge_encode_dev (the
// ac_exe_dev of TASKSTATS). Lets a task that exec'd and exited before its /proc entry could
// be read still get its exe, when the same binary ran before. Thread-safe, bounded.
std::string exePathOf(uint64_t kernel_dev, uint64_t ino);
// The executable of a table entry: its exe, else (an entry that exited before its /proc entry
// was read has only the device and inode of its TASKSTATS exit record) exePathOf them.
std::string exeOf(const ProcessInfo& info);
// Adds `path` for the file `st` describes to that cache: the fanotify backend calls it for
// every exec it sees (FAN_OPEN_EXEC), so a task that exec'd a binary nobody ran before and
// exited at once still gets its exe from its TASKSTATS exit record.
void rememberExecutable(const struct stat& st, const std::string& path);
// The same for an fd open on the binary (a FAN_OPEN_EXEC event's): its stat and resolved path.
void rememberExecutableFd(int fd);

// Nanoseconds since boot from clock ticks (field 22 of stat).
uint64_t ticksToNs(uint64_t ticks);

// Inode of our own pid namespace (the host's, when we run on the host).
uint32_t ownPidNs();

}  // namespace procfs
}  // namespace pmg
