#include "fd_flags.h"

#include <dirent.h>
#include <fcntl.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include "proc_files.h"

namespace pmg {

std::string fdLinkPath(int32_t pid, int fd) {
  return "/proc/" + std::to_string(pid) + "/fd/" + std::to_string(fd);
}

bool fdIsFile(int32_t pid, int fd, uint64_t dev, uint64_t ino) {
  struct stat st;
  return fd >= 0 && stat(fdLinkPath(pid, fd).c_str(), &st) == 0 && st.st_dev == dev &&
         st.st_ino == ino;
}

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

int findFdOnFile(int32_t pid, uint64_t dev, uint64_t ino) {
  return findOpenerFd(
      pid, [dev, ino](int, const struct stat& st) { return st.st_dev == dev && st.st_ino == ino; });
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
  int found = findFdOnFile(pid, dev, ino);
  if (gone) *gone = found == -2;
  if (found < 0 || !readFdFlags(pid, found, flags)) return false;
  *fd = found;
  return true;
}

}  // namespace pmg
