// Crash-recovery state of the audit backend, kept under /run/procmem-guard/ (tmpfs: gone after
// a reboot, when the kernel's audit state is gone too).
//   audit.lock   flock()ed for as long as a watcher runs the audit backend; the kernel drops
//                the lock when the process dies, even by SIGKILL.
//   audit.state  what the running watcher changed, written (atomically, by rename) BEFORE the
//                change is made and removed after a clean stop. Finding it while holding the
//                lock means the previous watcher died without cleaning up.
// We run as root in a directory others might have prepared: the directory must be root's or
// ours (owned by uid 0 or our euid, not group- or world-writable, not a symlink), every file is
// opened relative to its fd with O_NOFOLLOW (and the temporary file with O_EXCL), and a state
// file's values are validated before any of them is applied to the host (docs/audit-backend.md).
#pragma once

#include <cstdint>
#include <string>

#include "../util/unique_fd.h"

namespace pmg::audit {

struct SavedState {
  int32_t owner_pid = 0;
  int64_t orig_enabled = -1;        // enabled flag before we started
  int64_t set_enabled = -1;         // value we set, -1 if we did not touch it
  int64_t orig_backlog_limit = -1;  // same for backlog_limit
  int64_t set_backlog_limit = -1;
  int64_t orig_backlog_wait_time = -1;  // same for backlog_wait_time (we set 0: see docs)
  int64_t set_backlog_wait_time = -1;
  int32_t registered_pid = 0;   // our pid if we registered as the audit daemon
  int32_t daemon_at_start = 0;  // audit daemon registered when we started (0: none)
};

// Why a state file was not used: "" when it was valid, else what is wrong with it.
std::string validateState(const SavedState& s);
// Parses a state file's text; on a malformed or unknown line, returns false with `error` set
// to the line number and what is wrong.
bool parseState(const std::string& text, SavedState* out, std::string* error);

class StateFile {
 public:
  explicit StateFile(std::string dir = "/run/procmem-guard") : dir_(std::move(dir)) {}
  ~StateFile() { unlock(); }
  StateFile(const StateFile&) = delete;
  StateFile& operator=(const StateFile&) = delete;

  // Creates (or checks) the directory and takes the lock. Returns 0; -EWOULDBLOCK if another
  // live watcher holds it; -EPERM with problem() set when the directory or the lock file is
  // not safe to use; or another -errno.
  int lock();
  void unlock();
  // What made lock() or load() refuse, for the error message.
  const std::string& problem() const { return problem_; }
  // Reads a state file left behind. kNone: there is none; kInvalid: there is one, but it is
  // unsafe or its values are not sane (problem() says why): it must not be applied.
  enum class Loaded { kNone, kValid, kInvalid };
  Loaded load(SavedState* out);
  // Writes atomically (O_EXCL temp file, fsync, rename). Returns 0 or -errno.
  int save(const SavedState& s) const;
  void remove() const;
  // Moves an invalid state file aside (audit.state.invalid) for the administrator to look at.
  void setAside() const;
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  UniqueFd dir_fd_;
  UniqueFd lock_fd_;  // flock()ed; closing it releases the lock
  std::string problem_;
};

}  // namespace pmg::audit
