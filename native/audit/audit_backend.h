// Capture backend on the Linux kernel audit subsystem (NETLINK_AUDIT), for hosts where
// fanotify is unavailable. Design and limits: docs/audit-backend.md.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "../backend.h"

namespace pmg {

// The key that tags every audit rule this backend installs; rules with it are ours.
constexpr const char* kAuditRuleKey = "procmem-guard";

std::unique_ptr<Backend> makeAuditBackend();

// Introspection for `doctor` and tests (any thread; opens its own socket).
struct AuditRuleInfo {
  std::string key;
  uint32_t flags = 0, action = 0, field_count = 0;
};
struct AuditStatusInfo {
  uint32_t enabled = 0, failure = 0, pid = 0, backlog_limit = 0, lost = 0, backlog = 0;
  uint32_t backlog_wait_time = 0, backlog_wait_time_actual = 0;  // jiffies
};
// Return 0 or -errno.
int auditGetStatus(AuditStatusInfo* out);
int auditListRules(std::vector<AuditRuleInfo>* out);

}  // namespace pmg
