// The one list of capture error codes. A backend (or the process table) that cannot start
// throws CaptureError with one of them; the addon hands it to JavaScript as Error.code.
// src/watcher/capture-error-codes.ts is generated from this list (node
// scripts/capture-error-codes.mjs; test/capture-error-codes.test.ts fails when it is stale),
// so a new code is added here and nowhere by hand. The list lives on the native side because
// the codes are thrown here: the compiler then rejects any code that is not in it. Each entry:
// the enum name, the code JavaScript sees, and what it means (docs/api.md explains each).
#pragma once

#include <string>

namespace pmg {

// clang-format off
#define PMG_CAPTURE_ERROR_CODES(X)                                                               \
  X(kEpermCapture, "EPERM_CAPTURE",                                                              \
    "not root, or a capability the backend needs is missing")                                     \
  X(kFanotifyUnavailable, "FANOTIFY_UNAVAILABLE",                                                \
    "the kernel has no fanotify, or refused the group or the marks")                             \
  X(kEbpfUnavailable, "EBPF_UNAVAILABLE",                                                        \
    "the addon was built without the eBPF backend, or the kernel refused its programs")          \
  X(kAuditUnavailable, "AUDIT_UNAVAILABLE",                                                      \
    "no NETLINK_AUDIT: a kernel without audit, audit=0, or another network namespace")           \
  X(kLimitReached, "LIMIT_REACHED",                                                              \
    "a kernel limit: fanotify groups or marks, open files, audit rules")                         \
  X(kAuditBusy, "AUDIT_BUSY",                                                                    \
    "another watcher runs the audit backend, audit is locked (enabled 2), or it panics on loss") \
  X(kStateUnsafe, "STATE_UNSAFE",                                                                \
    "the audit state directory is a symlink, not ours, or writable by others")                   \
  X(kEnforceUnavailable, "ENFORCE_UNAVAILABLE",                                                  \
    "guard mode cannot enforce here: a backend other than eBPF, or no bpf_send_signal")          \
  X(kInternal, "INTERNAL", "anything else; the message has the system error")
// clang-format on

enum class ErrorCode {
#define PMG_ERROR_ENUM(name, code, meaning) name,
  PMG_CAPTURE_ERROR_CODES(PMG_ERROR_ENUM)
#undef PMG_ERROR_ENUM
};

// The code JavaScript sees ("AUDIT_BUSY").
inline const char* errorCodeName(ErrorCode c) {
  switch (c) {
#define PMG_ERROR_NAME(name, code, meaning) \
  case ErrorCode::name:                     \
    return code;
    PMG_CAPTURE_ERROR_CODES(PMG_ERROR_NAME)
#undef PMG_ERROR_NAME
  }
  return "INTERNAL";
}

// Thrown by Backend::start and ProcessTable::start with an actionable message.
struct CaptureError {
  ErrorCode code;
  std::string message;
};

}  // namespace pmg
