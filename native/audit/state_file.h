// Crash-recovery state of the audit backend, kept under /run/procmem-guard/ (tmpfs: gone after
// a reboot, when the kernel's audit state is gone too).
//   audit.lock   flock()ed for as long as a watcher runs the audit backend; the kernel drops
//                the lock when the process dies, even by SIGKILL.
//   audit.state  what the running watcher changed, written (atomically, by rename) BEFORE the
//                change is made and removed after a clean stop. Finding it while holding the
//                lock means the previous watcher died without cleaning up.
#pragma once

#include <cstdint>
#include <string>

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

class StateFile {
 public:
  explicit StateFile(std::string dir = "/run/procmem-guard") : dir_(std::move(dir)) {}
  ~StateFile() { unlock(); }
  StateFile(const StateFile&) = delete;
  StateFile& operator=(const StateFile&) = delete;

  // Creates the directory and takes the lock. Returns 0, -EWOULDBLOCK if another live watcher
  // holds it, or another -errno.
  int lock();
  void unlock();
  // Reads a state file left behind. Returns false if there is none (or it is unreadable).
  bool load(SavedState* out) const;
  // Writes atomically (temp file, fsync, rename). Returns 0 or -errno.
  int save(const SavedState& s) const;
  void remove() const;
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  int lock_fd_ = -1;
};

}  // namespace pmg::audit
