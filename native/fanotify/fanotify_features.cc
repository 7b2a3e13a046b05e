#include "fanotify_features.h"

#include <fcntl.h>
#include <sys/fanotify.h>

#include <cerrno>
#include <cstring>

#include "../util/unique_fd.h"

namespace pmg {

unsigned baseFanotifyInitFlags() { return FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK; }
unsigned fanotifyEventFlags() { return O_RDONLY | O_LARGEFILE | O_CLOEXEC; }

FanotifyFeatures probeFanotify() {
  FanotifyFeatures f;
  // Most wanted first. FAN_REPORT_TID and FAN_REPORT_FD_ERROR are independent; try both, then
  // each alone, then neither, so an older kernel still gets whatever it supports.
  const unsigned extras[] = {FAN_REPORT_FD_ERROR | FAN_REPORT_TID, FAN_REPORT_FD_ERROR,
                             FAN_REPORT_TID, 0};
  UniqueFd group;
  for (unsigned extra : extras) {
    group.reset(fanotify_init(baseFanotifyInitFlags() | extra, fanotifyEventFlags()));
    if (group.valid()) {
      f.init_flags = baseFanotifyInitFlags() | extra;
      break;
    }
    f.init_errno = errno;
    if (errno != EINVAL) break;  // EPERM, ENOSYS, EMFILE: no flag choice will help
  }
  if (!group.valid()) return f;
  f.available = true;
  f.init_errno = 0;
  f.report_fd_error = (f.init_flags & FAN_REPORT_FD_ERROR) != 0;
  f.report_tid = (f.init_flags & FAN_REPORT_TID) != 0;
  if (fanotify_mark(group.get(), FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FAN_OPEN, AT_FDCWD, "/proc") ==
      0) {
    f.mark_filesystem = true;
  } else if (errno != EINVAL) {
    f.mark_errno = errno;
  } else if (fanotify_mark(group.get(), FAN_MARK_ADD | FAN_MARK_MOUNT, FAN_OPEN, AT_FDCWD,
                           "/proc") != 0) {
    f.mark_errno = errno;
  }
  return f;  // closing the group removes its marks
}

std::string fanotifyErrorAdvice(int err) {
  switch (err) {
    case EPERM:
      return "fanotify needs CAP_SYS_ADMIN, and complete capture also CAP_SYS_PTRACE and "
             "CAP_NET_ADMIN: run procmem-guard as root (sudo) or grant all three (procmem-guard "
             "doctor names what is missing)";
    case ENOSYS:
      return "this kernel has no fanotify (CONFIG_FANOTIFY is off): use the audit backend";
    case EMFILE:
      return "too many fanotify groups for this user (fs.fanotify.max_user_groups): stop other "
             "fanotify users or raise /proc/sys/fs/fanotify/max_user_groups";
    case ENOSPC:
      return "too many fanotify marks (fs.fanotify.max_user_marks): raise "
             "/proc/sys/fs/fanotify/max_user_marks";
    case ENFILE:
    case ENOMEM:
      return std::string("the system is out of resources (") + std::strerror(err) + ")";
    default:
      return std::string("fanotify failed: ") + std::strerror(err);
  }
}

}  // namespace pmg
