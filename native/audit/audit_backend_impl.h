// The audit backend's class. Its members are defined by concern:
//   audit_backend.cc  lifecycle: start, stop, cleanup, the state file, stats
//   record_feed.cc    the capture thread: reading the record socket, assembling events
//   rule_sync.cc      our audit rules: one set per procfs device, the mount watch, removal
//   daemon_role.cc    the audit daemon role: taking it, handing it over, taking it back, and
//                     restoring what we changed
//   open_record.cc    an assembled open event -> the path it names -> a CaptureRecord
#pragma once

#include <linux/audit.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "../backend.h"
#include "../util/flood_guard.h"
#include "../util/unique_fd.h"
#include "audit_backend.h"
#include "netlink.h"
#include "records.h"
#include "state_file.h"

namespace pmg::audit {

constexpr int64_t kHandoverGraceMs = 5000;  // before taking the daemon role back

std::string errText(int neg_errno);
[[noreturn]] void fail(ErrorCode code, const std::string& msg);
// Maps a netlink failure of a privileged audit request to an actionable CaptureError.
[[noreturn]] void failNetlink(const char* what, int r);

class AuditBackend : public Backend {
 public:
  ~AuditBackend() override { stop(); }
  const char* name() const override { return "audit"; }
  void start(EventSink& sink, ProcessTable& table) override;
  void stop() override;
  std::map<std::string, uint64_t> stats() const override;

 private:
  enum class Mode : uint64_t { kNone = 0, kDaemon = 1, kMulticast = 2 };

  // audit_backend.cc
  void saveState();
  void cleanup();
  // daemon_role.cc
  void recoverStale();
  void restore(const SavedState& s, int32_t registered_pid);
  // Records in state_ what we will change when we take the daemon role (before changing it).
  void planDaemonSettings(const audit_status& st);
  void registerDaemon(const audit_status& st);
  void becomeListener();
  void checkStatus();
  // rule_sync.cc
  void removeOurRules(bool for_recovery);
  RuleBlob makeRule(uint32_t arch, uint64_t dev) const;
  RuleBlob makeMountRule(uint32_t arch) const;
  void syncRules(const std::set<uint64_t>& devs, bool at_start, bool remove_missing);
  void onMount(int32_t pid);
  // record_feed.cc
  void run();
  bool readBatch(std::vector<uint8_t>& buf);
  void finishBatch(int64_t now);
  void drainForStop(std::vector<uint8_t>& buf);
  void onRecord(uint16_t type, std::string_view text);
  // open_record.cc
  void emit(const AuditEvent& ev);

  EventSink* sink_ = nullptr;
  ProcessTable* table_ = nullptr;
  StateFile state_file_;
  SavedState state_;
  NetlinkAudit ctl_;  // requests
  NetlinkAudit rd_;   // records: the daemon connection or the read-log group member
  UniqueFd stop_fd_;
  std::thread thread_;
  bool running_ = false;
  bool handover_ = false;  // AUDIT_REPLACE seen: an audit daemon wants the role
  int32_t self_pid_ = 0;
  uint64_t self_pid_ns_ = 0;
  uint64_t host_proc_dev_ = 0;
  std::set<uint64_t> rule_devs_;  // procfs devices our rules cover
  bool b32_ok_ = true;
  bool uring_ok_ = true;
  int64_t last_scan_ms_ = 0;
  int64_t stepped_aside_ms_ = -kHandoverGraceMs;
  uint32_t last_lost_ = 0;
  uint32_t wait_actual_at_start_ = 0;
  int64_t last_status_ms_ = 0;
  std::unique_ptr<Assembler> assembler_;
  FloodGuard flood_;
  std::vector<AuditEvent> done_;
  size_t pushed_in_batch_ = 0;

  std::atomic<uint64_t> mode_{0};
  std::atomic<uint64_t> records_{0}, events_{0}, emitted_{0}, filtered_{0}, incomplete_{0},
      kernel_lost_{0}, enobufs_{0}, parse_errors_{0}, backlog_{0}, handovers_{0}, flags_syscall_{0},
      flags_fdinfo_{0}, flags_unknown_{0}, foreign_key_{0}, procfs_instances_{0}, mounts_seen_{0},
      backlog_wait_actual_{0}, named_by_inode_{0}, unnamed_mem_{0};
};

}  // namespace pmg::audit
