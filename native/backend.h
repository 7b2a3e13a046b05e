// The small interface every capture backend (fanotify/, audit/) implements. A backend owns
// its kernel handles and one capture thread; it turns kernel notifications about opens of
// procfs mem files into CaptureRecords pushed into an EventSink.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "proc/process_table.h"
#include "ring/ring.h"

namespace pmg {

// Thrown by Backend::start with an actionable message. `code` is stable and mirrored in
// src/watcher/errors.ts: EPERM_CAPTURE, FANOTIFY_UNAVAILABLE, EBPF_UNAVAILABLE, AUDIT_UNAVAILABLE,
// LIMIT_REACHED, AUDIT_BUSY, STATE_UNSAFE, INTERNAL.
struct CaptureError {
  std::string code;
  std::string message;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;
  // Installs kernel state (marks, rules) and starts the capture thread. When it returns, capture
  // is live: an open made after this call returns is reported. Throws CaptureError.
  virtual void start(EventSink& sink, ProcessTable& table) = 0;
  // Stops the thread and removes every kernel object this backend installed. Idempotent.
  virtual void stop() = 0;
  // Backend counters (events seen from the kernel, filtered out, emitted, ...). Thread-safe.
  virtual std::map<std::string, uint64_t> stats() const = 0;
};

}  // namespace pmg
