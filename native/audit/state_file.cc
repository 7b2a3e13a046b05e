#include "state_file.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "../util/unique_fd.h"

namespace pmg::audit {

namespace {

constexpr const char* kLock = "audit.lock";
constexpr const char* kState = "audit.state";
constexpr const char* kTemp = "audit.state.tmp";
constexpr const char* kInvalid = "audit.state.invalid";
constexpr size_t kMaxStateBytes = 4096;
// Sane bounds for values restored to the kernel. backlog_limit 0 means unlimited and is the
// administrator's to choose; the kernel itself caps backlog_wait_time at 10 x 60 s in jiffies
// (HZ at most 1000).
constexpr int64_t kMaxBacklogLimit = 1 << 22;
constexpr int64_t kMaxBacklogWait = 10 * 60 * 1000;

// A file or directory we may trust: owned by root or by our own uid (a watcher running as a
// service user with the capabilities it needs), not writable by group or others.
std::string unsafeBecause(const struct stat& st, bool want_dir) {
  if (want_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))
    return want_dir ? "is not a directory" : "is not a regular file";
  if (st.st_uid != 0 && st.st_uid != geteuid())
    return "is owned by uid " + std::to_string(st.st_uid) + ", neither root nor us";
  if (st.st_mode & (S_IWGRP | S_IWOTH)) return "is writable by group or others";
  if (!want_dir && st.st_nlink != 1) return "has other hard links";
  return "";
}

}  // namespace

std::string validateState(const SavedState& s) {
  auto in = [](int64_t v, int64_t lo, int64_t hi) { return v >= lo && v <= hi; };
  if (s.owner_pid <= 0) return "owner_pid is not a pid";
  // enabled 2 locks the audit configuration until reboot: never applied from a file.
  if (!in(s.orig_enabled, -1, 1)) return "orig_enabled is not -1, 0 or 1";
  if (!in(s.set_enabled, -1, 1)) return "set_enabled is not -1, 0 or 1";
  if (!in(s.orig_backlog_limit, -1, kMaxBacklogLimit)) return "orig_backlog_limit is out of range";
  if (!in(s.set_backlog_limit, -1, kMaxBacklogLimit)) return "set_backlog_limit is out of range";
  if (!in(s.orig_backlog_wait_time, -1, kMaxBacklogWait))
    return "orig_backlog_wait_time is out of range";
  if (!in(s.set_backlog_wait_time, -1, kMaxBacklogWait))
    return "set_backlog_wait_time is out of range";
  if (s.registered_pid < 0 || s.daemon_at_start < 0) return "a pid is negative";
  return "";
}

bool parseState(const std::string& text, SavedState* out, std::string* error) {
  SavedState s;
  bool version = false;
  size_t start = 0;
  for (int line = 1; start < text.size(); line++) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string l = text.substr(start, end - start);
    start = end + 1;
    if (l.empty() || l[0] == '#') continue;
    size_t eq = l.find('=');
    std::string key = l.substr(0, eq == std::string::npos ? l.size() : eq);
    std::string val = eq == std::string::npos ? "" : l.substr(eq + 1);
    char* stop = nullptr;
    errno = 0;
    long long v = std::strtoll(val.c_str(), &stop, 10);
    if (eq == std::string::npos || val.empty() || *stop != '\0' || errno == ERANGE) {
      *error = "line " + std::to_string(line) + ": not key=integer";
      return false;
    }
    if (key == "version") {
      version = v == 1;
      if (!version) {
        *error = "line " + std::to_string(line) + ": unknown version " + val;
        return false;
      }
    } else if (key == "owner_pid" || key == "registered_pid" || key == "daemon_at_start") {
      if (v < INT32_MIN || v > INT32_MAX) {
        *error = "line " + std::to_string(line) + ": " + key + " is not a pid";
        return false;
      }
      int32_t p = static_cast<int32_t>(v);
      (key == "owner_pid"        ? s.owner_pid
       : key == "registered_pid" ? s.registered_pid
                                 : s.daemon_at_start) = p;
    } else if (key == "orig_enabled") {
      s.orig_enabled = v;
    } else if (key == "set_enabled") {
      s.set_enabled = v;
    } else if (key == "orig_backlog_limit") {
      s.orig_backlog_limit = v;
    } else if (key == "set_backlog_limit") {
      s.set_backlog_limit = v;
    } else if (key == "orig_backlog_wait_time") {
      s.orig_backlog_wait_time = v;
    } else if (key == "set_backlog_wait_time") {
      s.set_backlog_wait_time = v;
    } else {
      *error = "line " + std::to_string(line) + ": unknown key '" + key.substr(0, 40) + "'";
      return false;
    }
  }
  if (!version) {
    *error = "no version line";
    return false;
  }
  *out = s;
  return true;
}

int StateFile::lock() {
  if (lock_fd_.valid()) return 0;
  problem_.clear();
  if (mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST) return -errno;
  // O_NOFOLLOW: a symlink planted at the directory's path is refused, not followed.
  UniqueFd dir(open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir.valid()) {
    int e = errno;
    if (e == ELOOP || e == ENOTDIR) {
      problem_ = dir_ + " is a symlink or not a directory";
      return -EPERM;
    }
    return -e;
  }
  struct stat st;
  if (fstat(dir.get(), &st) != 0) return -errno;
  std::string why = unsafeBecause(st, true);
  if (!why.empty()) {
    problem_ = dir_ + " " + why;
    return -EPERM;
  }
  UniqueFd fd(openat(dir.get(), kLock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd.valid()) {
    int e = errno;
    if (e == ELOOP) problem_ = dir_ + "/" + kLock + " is a symlink";
    return e == ELOOP ? -EPERM : -e;
  }
  if (fstat(fd.get(), &st) != 0) return -errno;
  why = unsafeBecause(st, false);
  if (!why.empty()) {
    problem_ = dir_ + "/" + kLock + " " + why;
    return -EPERM;
  }
  if (flock(fd.get(), LOCK_EX | LOCK_NB) != 0) return -errno;
  dir_fd_ = std::move(dir);
  lock_fd_ = std::move(fd);
  return 0;
}

void StateFile::unlock() {
  lock_fd_.reset();  // closing releases the flock
  dir_fd_.reset();
}

StateFile::Loaded StateFile::load(SavedState* out) {
  problem_.clear();
  if (!dir_fd_.valid()) return Loaded::kNone;
  UniqueFd fd(openat(dir_fd_.get(), kState, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return Loaded::kNone;
    problem_ = std::string(kState) + ": " + (errno == ELOOP ? "is a symlink" : strerror(errno));
    return Loaded::kInvalid;
  }
  struct stat st;
  std::string why = fstat(fd.get(), &st) != 0 ? strerror(errno) : unsafeBecause(st, false);
  if (why.empty() && st.st_size > static_cast<off_t>(kMaxStateBytes)) why = "is too large";
  std::string text;
  if (why.empty()) {
    char buf[kMaxStateBytes + 1];
    ssize_t n = read(fd.get(), buf, sizeof buf);
    if (n < 0)
      why = strerror(errno);
    else if (static_cast<size_t>(n) > kMaxStateBytes)
      why = "is too large";
    else
      text.assign(buf, static_cast<size_t>(n));
  }
  SavedState s;
  if (why.empty() && !parseState(text, &s, &why)) why = "malformed, " + why;
  if (why.empty()) why = validateState(s);
  if (!why.empty()) {
    problem_ = std::string(kState) + " " + why;
    return Loaded::kInvalid;
  }
  *out = s;
  return Loaded::kValid;
}

int StateFile::save(const SavedState& s) const {
  if (!dir_fd_.valid()) return -EBADF;
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
  if (len < 0 || static_cast<size_t>(len) >= sizeof(text)) return -EOVERFLOW;
  // O_EXCL | O_NOFOLLOW: never write through a file or link someone planted; a leftover temp
  // (ours from a crash, or planted) is unlinked (the name, not what a link points to) first.
  int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  UniqueFd fd(openat(dir_fd_.get(), kTemp, flags, 0600));
  if (!fd.valid() && errno == EEXIST && unlinkat(dir_fd_.get(), kTemp, 0) == 0)
    fd.reset(openat(dir_fd_.get(), kTemp, flags, 0600));
  if (!fd.valid()) return -errno;
  int err = 0;
  if (write(fd.get(), text, static_cast<size_t>(len)) != len) err = errno ? -errno : -EIO;
  if (!err && fsync(fd.get()) != 0) err = -errno;
  if (::close(fd.release()) != 0 && !err) err = -errno;
  if (!err && renameat(dir_fd_.get(), kTemp, dir_fd_.get(), kState) != 0) err = -errno;
  if (err) unlinkat(dir_fd_.get(), kTemp, 0);
  return err;
}

void StateFile::remove() const {
  if (dir_fd_.valid()) unlinkat(dir_fd_.get(), kState, 0);
}

void StateFile::setAside() const {
  if (dir_fd_.valid() && renameat(dir_fd_.get(), kState, dir_fd_.get(), kInvalid) != 0) remove();
}

}  // namespace pmg::audit
