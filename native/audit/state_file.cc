#include "state_file.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace pmg::audit {

int StateFile::lock() {
  if (lock_fd_ >= 0) return 0;
  if (mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST) return -errno;
  std::string path = dir_ + "/audit.lock";
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return -errno;
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    ::close(fd);
    return -e;
  }
  lock_fd_ = fd;
  return 0;
}

void StateFile::unlock() {
  if (lock_fd_ >= 0) ::close(lock_fd_);  // closing releases the flock
  lock_fd_ = -1;
}

bool StateFile::load(SavedState* out) const {
  std::string path = dir_ + "/audit.state";
  FILE* f = fopen(path.c_str(), "re");
  if (!f) return false;
  SavedState s;
  char line[128];
  bool any = false;
  while (fgets(line, sizeof(line), f)) {
    char* eq = strchr(line, '=');
    if (!eq) continue;
    *eq = '\0';
    long long v = strtoll(eq + 1, nullptr, 10);
    any = true;
    if (!strcmp(line, "owner_pid"))
      s.owner_pid = static_cast<int32_t>(v);
    else if (!strcmp(line, "orig_enabled"))
      s.orig_enabled = v;
    else if (!strcmp(line, "set_enabled"))
      s.set_enabled = v;
    else if (!strcmp(line, "orig_backlog_limit"))
      s.orig_backlog_limit = v;
    else if (!strcmp(line, "set_backlog_limit"))
      s.set_backlog_limit = v;
    else if (!strcmp(line, "orig_backlog_wait_time"))
      s.orig_backlog_wait_time = v;
    else if (!strcmp(line, "set_backlog_wait_time"))
      s.set_backlog_wait_time = v;
    else if (!strcmp(line, "registered_pid"))
      s.registered_pid = static_cast<int32_t>(v);
  }
  fclose(f);
  *out = s;
  return any;
}

int StateFile::save(const SavedState& s) const {
  std::string path = dir_ + "/audit.state";
  std::string tmp = path + ".tmp";
  char text[512];
  int len = snprintf(
      text, sizeof(text),
      "# procmem-guard audit backend: kernel audit state to restore after a crash\n"
      "version=1\nowner_pid=%d\norig_enabled=%lld\nset_enabled=%lld\n"
      "orig_backlog_limit=%lld\nset_backlog_limit=%lld\nregistered_pid=%d\n"
      "daemon_at_start=%d\norig_backlog_wait_time=%lld\nset_backlog_wait_time=%lld\n",
      s.owner_pid, static_cast<long long>(s.orig_enabled), static_cast<long long>(s.set_enabled),
      static_cast<long long>(s.orig_backlog_limit), static_cast<long long>(s.set_backlog_limit),
      s.registered_pid, s.daemon_at_start, static_cast<long long>(s.orig_backlog_wait_time),
      static_cast<long long>(s.set_backlog_wait_time));
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return -errno;
  int err = 0;
  if (write(fd, text, static_cast<size_t>(len)) != len) err = errno ? -errno : -EIO;
  if (!err && fsync(fd) != 0) err = -errno;
  if (::close(fd) != 0 && !err) err = -errno;
  if (!err && rename(tmp.c_str(), path.c_str()) != 0) err = -errno;
  if (err) unlink(tmp.c_str());
  return err;
}

void StateFile::remove() const {
  std::string path = dir_ + "/audit.state";
  unlink(path.c_str());
}

}  // namespace pmg::audit
