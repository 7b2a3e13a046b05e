#include "opener_progress.h"

#include <cerrno>
#include <cstdlib>
#include <string>

#include "../util/proc_files.h"

namespace pmg {

namespace {

// Syscalls inside which a new fd is not installed yet, by number, for both ABIs a task of this
// architecture can use (/proc/<tid>/syscall gives the number in the task's own ABI, not which).
bool mayBeOpening(long nr) {
#if defined(__x86_64__)
  // x86-64: open, creat, open_by_handle_at, io_uring_enter, openat, openat2; i386: open, creat,
  // openat, open_by_handle_at (openat2 and io_uring_enter are the same numbers).
  static constexpr long kOpening[] = {2, 85, 304, 426, 257, 437, 5, 8, 295, 342};
#elif defined(__aarch64__)
  // arm64: openat, open_by_handle_at, io_uring_enter, openat2; arm: open, creat, openat,
  // open_by_handle_at.
  static constexpr long kOpening[] = {56, 265, 426, 437, 5, 8, 322, 371};
#else
#error "opener_progress: add the open syscall numbers of this architecture"
#endif
  for (long n : kOpening)
    if (n == nr) return true;
  return false;
}

}  // namespace

PendingFlags::Probed openerProgress(int32_t tid, uint64_t* cpu_mark) {
  using Probed = PendingFlags::Probed;
  std::string base = "/proc/" + std::to_string(tid), text;
  if (!readSmallFile(base + "/syscall", &text, 256))
    return errno == ENOENT || errno == ESRCH ? Probed::kClosed : Probed::kNotYet;
  if (text.compare(0, 7, "running") != 0) {
    // Blocked: the number of the syscall it is in, or -1 outside any (a page fault...).
    char* end = nullptr;
    long nr = std::strtol(text.c_str(), &end, 10);
    if (end == text.c_str()) return Probed::kNotYet;
    return nr != -1 && mayBeOpening(nr) ? Probed::kNotYet : Probed::kClosed;
  }
  // On a CPU or waiting for one: has it run since the first look?
  std::string sched;
  if (!readSmallFile(base + "/schedstat", &sched, 256)) return Probed::kNotYet;
  uint64_t cpu = std::strtoull(sched.c_str(), nullptr, 10);
  if (*cpu_mark == 0) {
    *cpu_mark = cpu + 1;
    return Probed::kNotYet;
  }
  return cpu + 1 >= *cpu_mark + PendingFlags::kProgressNs ? Probed::kClosed : Probed::kNotYet;
}

}  // namespace pmg
