// The audit backend's lifecycle: start (lock, recovery, the daemon role or the read-log group,
// rules, the capture thread), stop, and the introspection calls for doctor and tests.
#include "audit_backend.h"

#include <errno.h>
#include <linux/netlink.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "../util/clock.h"
#include "audit_backend_impl.h"
#include "procfs_devs.h"
#include "syscalls.h"

namespace pmg {

namespace audit {

namespace {

constexpr size_t kMaxPending = 4096;  // incomplete events held
constexpr int64_t kMaxAgeMs = 2000;   // and for how long
constexpr int kRcvBuf = 8 * 1024 * 1024;

}  // namespace

std::string errText(int neg_errno) { return std::strerror(-neg_errno); }

[[noreturn]] void fail(ErrorCode code, const std::string& msg) { throw CaptureError{code, msg}; }

[[noreturn]] void failNetlink(const char* what, int r) {
  if (r == -EPERM || r == -EACCES) {
    fail(ErrorCode::kEpermCapture,
         std::string("audit backend: ") + what + " was refused (" + errText(r) +
             "): run as root or with CAP_AUDIT_CONTROL, CAP_AUDIT_READ, "
             "CAP_SYS_PTRACE and CAP_NET_ADMIN (and CAP_DAC_OVERRIDE when not "
             "uid 0), in the initial user and pid namespace");
  }
  if (r == -EPROTONOSUPPORT || r == -ECONNREFUSED || r == -EAFNOSUPPORT) {
    fail(ErrorCode::kAuditUnavailable, std::string("audit backend: ") + what + " failed (" +
                                           errText(r) +
                                           "): the kernel has no audit support here (CONFIG_AUDIT, "
                                           "audit=0 on the command line, or a non-initial network "
                                           "namespace); use the fanotify backend");
  }
  fail(ErrorCode::kInternal, std::string("audit backend: ") + what + " failed: " + errText(r));
}

void AuditBackend::start(EventSink& sink, ProcessTable& table) {
  if (running_) return;
  sink_ = &sink;
  table_ = &table;
  self_pid_ = getpid();
  struct stat st;
  self_pid_ns_ = stat("/proc/self/ns/pid", &st) == 0 ? st.st_ino : 0;
  host_proc_dev_ = stat("/proc", &st) == 0 ? st.st_dev : 0;

  int r = state_file_.lock();
  if (r == -EWOULDBLOCK) {
    fail(ErrorCode::kAuditBusy,
         "audit backend: another procmem-guard watcher is using the audit backend "
         "(lock " +
             state_file_.dir() + "/audit.lock); stop it first");
  }
  if (r < 0 && !state_file_.problem().empty()) {
    fail(ErrorCode::kStateUnsafe,
         "audit backend: refusing to use the state directory: " + state_file_.problem() +
             " (it must be a real directory owned by root or by the watcher's uid, mode 0700; "
             "remove it "
             "and start again, or find out who created it)");
  }
  if (r < 0) {
    fail(r == -EACCES || r == -EPERM || r == -EROFS ? ErrorCode::kEpermCapture
                                                    : ErrorCode::kInternal,
         "audit backend: cannot create the state lock in " + state_file_.dir() + ": " + errText(r) +
             " (run as root)");
  }
  try {
    if ((r = ctl_.open()) < 0) failNetlink("opening a NETLINK_AUDIT socket", r);
    audit_status status{};
    if ((r = ctl_.getStatus(&status)) < 0) failNetlink("AUDIT_GET", r);
    recoverStale();
    if ((r = ctl_.getStatus(&status)) < 0) failNetlink("AUDIT_GET", r);
    if (status.enabled == 2) {
      fail(ErrorCode::kAuditBusy,
           "audit backend: the audit configuration is locked (enabled=2, "
           "'auditctl -e 2'): no rule can be added until reboot; use fanotify");
    }
    if (status.failure == AUDIT_FAIL_PANIC) {
      fail(ErrorCode::kAuditBusy,
           "audit backend: the audit failure mode is 'panic' (auditctl -f 2): a "
           "lost record would panic the kernel, so procmem-guard will not add "
           "rules; use fanotify");
    }
    last_lost_ = status.lost;

    state_ = SavedState{};
    state_.owner_pid = self_pid_;
    state_.orig_enabled = status.enabled;
    state_.set_enabled = status.enabled == 0 ? 1 : -1;
    state_.orig_backlog_limit = status.backlog_limit;
    state_.daemon_at_start = static_cast<int32_t>(status.pid);
    bool daemon = status.pid == 0;
    if (daemon) planDaemonSettings(status);
    wait_actual_at_start_ = status.backlog_wait_time_actual;
    saveState();  // before the first change, so that a crash from here on is recoverable

    if ((r = rd_.open()) < 0) failNetlink("opening a NETLINK_AUDIT socket", r);
    if (setsockopt(rd_.fd(), SOL_SOCKET, SO_RCVBUFFORCE, &kRcvBuf, sizeof(kRcvBuf)) != 0) {
      setsockopt(rd_.fd(), SOL_SOCKET, SO_RCVBUF, &kRcvBuf, sizeof(kRcvBuf));
    }
    rd_.setPassthrough([this](uint16_t type, std::string_view text) { onRecord(type, text); });
    assembler_ = std::make_unique<Assembler>(kMaxPending, kMaxAgeMs, [this](const AuditEvent& ev) {
      const SyscallId* sc = findSyscall(ev.arch, ev.syscall);
      if (sc && sc->call == Call::kMount) {
        if (ev.success) onMount(ev.pid);
        return false;
      }
      return sc != nullptr;
    });
    if (daemon) {
      registerDaemon(status);
    } else {
      becomeListener();
    }
    if (state_.set_enabled >= 0 && mode_.load() == static_cast<uint64_t>(Mode::kMulticast)) {
      audit_status s{};
      s.mask = AUDIT_STATUS_ENABLED;
      s.enabled = 1;
      if ((r = ctl_.setStatus(s)) < 0) failNetlink("enabling audit (AUDIT_SET)", r);
    }
    std::set<uint64_t> devs = procfsDevicesAllNamespaces();
    devs.insert(host_proc_dev_);
    syncRules(devs, true, true);
    if ((r = ctl_.addRule(makeMountRule(kArch64))) < 0) {
      sink_->warn(("audit backend: cannot watch mount(2) (" + errText(r) +
                   "); new procfs instances are found by the once-a-second scan only")
                      .c_str());
    }
    if (b32_ok_) ctl_.addRule(makeMountRule(kArch32));
    last_scan_ms_ = monotonicMs();
    stop_fd_.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!stop_fd_.valid())
      fail(ErrorCode::kInternal, std::string("audit backend: eventfd: ") + strerror(errno));
    last_status_ms_ = monotonicMs();
    running_ = true;
    thread_ = std::thread([this] { run(); });
  } catch (...) {
    cleanup();
    throw;
  }
}

void AuditBackend::saveState() {
  int r = state_file_.save(state_);
  if (r < 0) {
    fail(ErrorCode::kInternal,
         "audit backend: cannot write " + state_file_.dir() +
             "/audit.state (needed to restore audit after a crash): " + errText(r));
  }
}

void AuditBackend::stop() {
  if (!running_) return;
  uint64_t one = 1;
  if (write(stop_fd_.get(), &one, sizeof(one)) != sizeof(one)) {
    sink_->warn("audit backend: cannot signal the capture thread");
  }
  if (thread_.joinable()) thread_.join();
  cleanup();
}

// Undoes everything start() did (also after a failed start).
void AuditBackend::cleanup() {
  running_ = false;
  if (ctl_.fd() >= 0) {
    removeOurRules(false);
    if (state_.owner_pid == self_pid_) restore(state_, state_.registered_pid);
  }
  rd_.close();
  ctl_.close();
  stop_fd_.reset();
  if (state_.owner_pid == self_pid_) state_file_.remove();
  state_ = SavedState{};
  state_file_.unlock();
  mode_ = static_cast<uint64_t>(Mode::kNone);
  handover_ = false;
  rule_devs_.clear();
  b32_ok_ = uring_ok_ = true;
  assembler_.reset();
}

std::map<std::string, uint64_t> AuditBackend::stats() const {
  return {{"mode", mode_.load()},  // 1 = audit daemon (unicast), 2 = read-log group (multicast)
          {"records", records_.load()},
          {"events_read", events_.load()},  // assembled open events (name shared with fanotify)
          {"emitted", emitted_.load()},
          {"filtered_not_mem", filtered_.load()},
          {"incomplete", incomplete_.load()},
          {"kernel_lost", kernel_lost_.load()},
          {"enobufs", enobufs_.load()},
          {"parse_errors", parse_errors_.load()},
          {"kernel_backlog", backlog_.load()},
          {"kernel_backlog_wait_actual", backlog_wait_actual_.load()},
          {"handovers", handovers_.load()},
          {"syscall_flags", flags_syscall_.load()},
          {"fdinfo_flags", flags_fdinfo_.load()},
          {"unknown_flags", flags_unknown_.load()},
          {"foreign_key", foreign_key_.load()},
          {"procfs_instances", procfs_instances_.load()},
          {"mounts_seen", mounts_seen_.load()},
          {"named_by_inode", named_by_inode_.load()},
          {"unnamed_mem", unnamed_mem_.load()},
          {"folded", flood_.folded()}};
}

}  // namespace audit

std::unique_ptr<Backend> makeAuditBackend() { return std::make_unique<audit::AuditBackend>(); }

int auditGetStatus(AuditStatusInfo* out) {
  audit::NetlinkAudit nl;
  int r = nl.open();
  audit_status st{};
  if (r == 0) r = nl.getStatus(&st);
  if (r < 0) return r;
  *out = {st.enabled,
          st.failure,
          st.pid,
          st.backlog_limit,
          st.lost,
          st.backlog,
          st.backlog_wait_time,
          st.backlog_wait_time_actual};
  return 0;
}

int auditListRules(std::vector<AuditRuleInfo>* out) {
  audit::NetlinkAudit nl;
  int r = nl.open();
  std::vector<audit::RuleBlob> rules;
  if (r == 0) r = nl.listRules(&rules);
  if (r < 0) return r;
  out->clear();
  for (const audit::RuleBlob& b : rules) {
    out->push_back({b.key(), b.data()->flags, b.data()->action, b.data()->field_count});
  }
  return 0;
}

}  // namespace pmg
