// The small interface every capture backend (fanotify/, audit/) implements. A backend owns
// its kernel handles and one capture thread; it turns kernel notifications about opens of
// procfs mem files into CaptureRecords pushed into an EventSink.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "capture_error.h"
#include "guard_config.h"
#include "proc/process_table.h"
#include "ring/ring.h"

namespace pmg {

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;
  // Installs kernel state (marks, rules) and starts the capture thread. When it returns, capture
  // is live: an open made after this call returns is reported. Throws CaptureError
  // (capture_error.h).
  virtual void start(EventSink& sink, ProcessTable& table) = 0;
  // Stops the thread and removes every kernel object this backend installed. Idempotent.
  virtual void stop() = 0;
  // Backend counters (events seen from the kernel, filtered out, emitted, ...). Thread-safe.
  virtual std::map<std::string, uint64_t> stats() const = 0;
  // Guard mode's settings, applied at the next start() and, while running, to the exception
  // table at once (the mode is fixed while running). Only a backend that decides at the open
  // in the kernel can enforce: the others refuse any mode but off.
  // Observed access (proc_mem_io summaries): the eBPF backend attaches its read/write
  // programs only when asked, since they cost every read and write syscall on the host
  // (README, "Observed access"). Called before start(); others ignore it.
  virtual void setObserveIo(bool /*on*/) {}
  virtual void setGuard(const GuardConfig& config) {
    if (config.mode == PMG_GUARD_OFF) return;
    throw CaptureError{ErrorCode::kEnforceUnavailable,
                       std::string("guard mode (enforce) needs the eBPF backend: the ") + name() +
                           " backend learns of an open after it has completed and cannot stop it"};
  }
};

}  // namespace pmg
