// Keeps a fanotify group's marks on every procfs instance. Marks all at start(), then, on its
// own thread so that a busy capture thread cannot delay it, marks the procfs of a new mount
// namespace as soon as a process execs there (proc connector: runtimes and
// `unshare --mount-proc` mount /proc, then exec), and rescans everything periodically.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "../util/unique_fd.h"
#include "procfs_instances.h"

namespace pmg {

class ProcfsMarker {
 public:
  // Installs the mark for one instance; false with `err` set if the kernel refused.
  using MarkFn = std::function<bool(const ProcfsInstance&, int* err)>;
  // A non-fatal problem, with the errno it is about (for warn-once).
  using WarnFn = std::function<void(int err, const std::string& message)>;

  static constexpr uint64_t kRescanNs = 500ull * 1000 * 1000;

  ProcfsMarker(bool per_mount, MarkFn mark, WarnFn warn);
  ~ProcfsMarker() { stop(); }

  // Scans and marks everything now (caller's thread), then starts the watching thread.
  void start();
  void stop();

  // The marked instance with superblock `dev`. Thread-safe.
  bool lookup(uint64_t dev, ProcfsInstance* out) const;
  size_t count() const;
  uint64_t rescans() const { return rescans_; }
  uint64_t markFailures() const { return mark_failures_; }

 private:
  void run();
  void drainExecEvents();
  void markNew(const std::vector<ProcfsInstance>& found);  // with mu_ held
  void rescan();

  MarkFn mark_;
  WarnFn warn_;
  mutable std::mutex mu_;
  ProcfsInstanceScanner scanner_;  // guarded by mu_
  UniqueFd exec_fd_;
  UniqueFd stop_fd_;
  std::thread thread_;
  std::atomic<uint64_t> rescans_{0}, mark_failures_{0};
  std::atomic<bool> stopping_{false};
};

}  // namespace pmg
