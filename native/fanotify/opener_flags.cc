#include "opener_flags.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include "../util/proc_files.h"

namespace pmg {

int findOpenerFd(int32_t pid, const std::function<bool(int fd, const struct stat&)>& match) {
  DIR* dir = opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
  if (!dir) return errno == ENOENT || errno == ESRCH ? -2 : -1;
  int found = -1;
  while (struct dirent* e = readdir(dir)) {
    uint64_t n = 0;
    struct stat st;
    if (parseDecimal(e->d_name, &n) && fstatat(dirfd(dir), e->d_name, &st, 0) == 0 &&
        match(static_cast<int>(n), st)) {
      found = static_cast<int>(n);
      break;
    }
  }
  closedir(dir);
  return found;
}

bool readFdFlags(int32_t pid, int fd, int32_t* flags) {
  std::string info, value;
  if (!readSmallFile("/proc/" + std::to_string(pid) + "/fdinfo/" + std::to_string(fd), &info) ||
      !fieldValue(info, "flags", &value))
    return false;
  char* end = nullptr;
  long v = std::strtol(value.c_str(), &end, 8);
  if (end == value.c_str()) return false;
  *flags = static_cast<int32_t>(v);
  return true;
}

bool readOpenerFlags(int32_t pid, uint64_t dev, uint64_t ino, int32_t* flags, int32_t* fd,
                     bool* gone) {
  int found = findOpenerFd(
      pid, [dev, ino](int, const struct stat& st) { return st.st_dev == dev && st.st_ino == ino; });
  if (gone) *gone = found == -2;
  if (found < 0 || !readFdFlags(pid, found, flags)) return false;
  *fd = found;
  return true;
}

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
#error "opener_flags: add the open syscall numbers of this architecture"
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
