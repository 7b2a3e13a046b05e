// What this kernel's fanotify supports, probed by trying it (kernels differ; what the
// development kernel does is in docs/kernel-facts.md). Used by the backend to pick its flags
// and by probe().
#pragma once

#include <string>

#ifndef FAN_REPORT_FD_ERROR
#define FAN_REPORT_FD_ERROR 0x00002000  // Linux 6.13; not yet in every libc's headers
#endif

namespace pmg {

struct FanotifyFeatures {
  bool available = false;        // a notification group could be created
  int init_errno = 0;            // errno of the failed fanotify_init when !available
  bool report_fd_error = false;  // FAN_REPORT_FD_ERROR: fd = -errno instead of a failed read()
  bool report_tid = false;       // FAN_REPORT_TID: event pid is the opener's thread id
  bool mark_filesystem = false;  // FAN_MARK_FILESYSTEM accepted on /proc
  int mark_errno = 0;            // errno of the failed /proc mark (EPERM, ENOSPC, ...)
  unsigned init_flags = 0;       // the fanotify_init flags the backend will use
};

// The notification-group flags every capture uses; features are added on top of these.
unsigned baseFanotifyInitFlags();
unsigned fanotifyEventFlags();

// Creates (and closes) a throw-away group and mark to find what works.
FanotifyFeatures probeFanotify();

// An actionable sentence for a fanotify_init / fanotify_mark errno.
std::string fanotifyErrorAdvice(int err);

}  // namespace pmg
