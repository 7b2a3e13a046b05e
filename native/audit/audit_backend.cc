#include "audit_backend.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/netlink.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <set>
#include <thread>

#include "../proc/target_info.h"
#include "../util/flood_guard.h"
#include "../util/mem_path.h"
#include "netlink.h"
#include "procfs_devs.h"
#include "records.h"
#include "state_file.h"

namespace pmg {

namespace {

using audit::AuditEvent;
using audit::NetlinkAudit;
using audit::PathItem;
using audit::SavedState;

constexpr size_t kMaxPending = 4096;      // incomplete events held
constexpr int64_t kMaxAgeMs = 2000;       // and for how long
constexpr int64_t kStatusEveryMs = 1000;  // AUDIT_GET: lost/backlog counters, daemon changes
constexpr int kPollMs = 250;
constexpr int kBatch = 256;  // datagrams per wake-up
// While we are the audit daemon: backlog_limit at least kBacklogWanted, and backlog_wait_time 0.
// The kernel makes a task that logs a record wait (up to backlog_wait_time, 60 s by default)
// when the backlog is full; with 0 it drops the record instead and counts it in `lost`, which
// we report as an auditLost loss. A sensor must never stall the host it watches: a procfs open
// storm then costs records, never the openers' time (README, "Capture backends").
constexpr uint32_t kBacklogWanted = 8192;
constexpr int kRcvBuf = 8 * 1024 * 1024;
constexpr int kAtFdcwd = -100;
constexpr int64_t kScanEveryMs = 1000;      // new procfs instances (containers, unshare)
constexpr size_t kMaxProcfsDevices = 256;   // rule pairs
constexpr int64_t kHandoverGraceMs = 5000;  // before taking the daemon role back

// kMount: mount(2) and move_mount(2), watched only to notice new procfs instances at once.
enum class Call { kOpen, kOpenat, kOpenat2, kMount };
// The "ABI" of io_uring operations (URINGOP records carry no arch): IORING_OP_OPENAT(2).
constexpr uint32_t kArchUring = 0;
struct SyscallId {
  uint32_t arch;
  int nr;
  Call call;
};

// Rules are installed for both ABIs of the build architecture.
#if defined(__x86_64__)
constexpr uint32_t kArch64 = AUDIT_ARCH_X86_64, kArch32 = AUDIT_ARCH_I386;
constexpr SyscallId kSyscalls[] = {
    {kArch64, 2, Call::kOpen},       {kArch64, 257, Call::kOpenat},
    {kArch64, 437, Call::kOpenat2},  {kArch32, 5, Call::kOpen},
    {kArch32, 295, Call::kOpenat},   {kArch32, 437, Call::kOpenat2},
    {kArchUring, 18, Call::kOpenat}, {kArchUring, 28, Call::kOpenat2},
    {kArch64, 165, Call::kMount},    {kArch64, 429, Call::kMount},
    {kArch32, 21, Call::kMount},     {kArch32, 429, Call::kMount}};
#elif defined(__aarch64__)
constexpr uint32_t kArch64 = AUDIT_ARCH_AARCH64, kArch32 = AUDIT_ARCH_ARM;
constexpr SyscallId kSyscalls[] = {
    {kArch64, 56, Call::kOpenat},     {kArch64, 437, Call::kOpenat2},
    {kArch32, 5, Call::kOpen},        {kArch32, 322, Call::kOpenat},
    {kArch32, 437, Call::kOpenat2},   {kArchUring, 18, Call::kOpenat},
    {kArchUring, 28, Call::kOpenat2}, {kArch64, 40, Call::kMount},
    {kArch64, 429, Call::kMount},     {kArch32, 21, Call::kMount},
    {kArch32, 429, Call::kMount}};
#else
#error "audit backend: add the open/openat/openat2 numbers of this architecture"
#endif

// CaptureRecord::syscall_nr uses the x86-64 numbers whatever the ABI of the caller.
uint32_t canonicalNr(Call c) { return c == Call::kOpen ? 2 : c == Call::kOpenat ? 257 : 437; }

const SyscallId* findSyscall(uint32_t arch, int nr) {
  for (const SyscallId& s : kSyscalls) {
    if (s.arch == arch && s.nr == nr) return &s;
  }
  return nullptr;
}

int64_t monoMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

uint64_t clockNs(clockid_t id) {
  timespec ts;
  clock_gettime(id, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

std::string errText(int neg_errno) { return std::strerror(-neg_errno); }

[[noreturn]] void fail(const std::string& code, const std::string& msg) {
  throw CaptureError{code, msg};
}

// Maps a netlink failure of a privileged audit request to an actionable CaptureError.
[[noreturn]] void failNetlink(const char* what, int r) {
  if (r == -EPERM || r == -EACCES) {
    fail("EPERM_CAPTURE", std::string("audit backend: ") + what + " was refused (" + errText(r) +
                              "): run as root or with CAP_AUDIT_CONTROL, CAP_AUDIT_READ, "
                              "CAP_SYS_PTRACE and CAP_NET_ADMIN (and CAP_DAC_OVERRIDE when not "
                              "uid 0), in the initial user and pid namespace");
  }
  if (r == -EPROTONOSUPPORT || r == -ECONNREFUSED || r == -EAFNOSUPPORT) {
    fail("AUDIT_UNAVAILABLE", std::string("audit backend: ") + what + " failed (" + errText(r) +
                                  "): the kernel has no audit support here (CONFIG_AUDIT, "
                                  "audit=0 on the command line, or a non-initial network "
                                  "namespace); use the fanotify backend");
  }
  fail("INTERNAL", std::string("audit backend: ") + what + " failed: " + errText(r));
}

void copyStr(char* dst, size_t cap, const std::string& src, uint32_t* flags) {
  size_t n = src.size();
  if (n >= cap) {
    n = cap - 1;
    *flags |= kPathTruncated;
  }
  std::memcpy(dst, src.data(), n);
  dst[n] = '\0';
}

std::string readLink(const std::string& path) {
  char buf[4096];
  ssize_t n = readlink(path.c_str(), buf, sizeof(buf) - 1);
  if (n <= 0) return {};
  return std::string(buf, static_cast<size_t>(n));
}

// The flags of fd `fd` of `pid` if it still refers to inode `ino`.
bool fdinfoFlags(int32_t pid, int64_t fd, uint64_t ino, int32_t* flags) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/fdinfo/%lld", pid, static_cast<long long>(fd));
  FILE* f = fopen(path, "re");
  if (!f) return false;
  char line[256];
  bool have_flags = false, ino_ok = false;
  unsigned long long v;
  while (fgets(line, sizeof(line), f)) {
    if (sscanf(line, "flags: %llo", &v) == 1) {
      *flags = static_cast<int32_t>(v);
      have_flags = true;
    } else if (sscanf(line, "ino: %llu", &v) == 1) {
      ino_ok = v == ino;
    }
  }
  fclose(f);
  return have_flags && ino_ok;
}

// The flags of any fd of `pid` open on inode `ino` (when the fd number is not known: io_uring
// reports the op's return value, 0, not the fd it installed).
bool fdinfoFlagsByInode(int32_t pid, uint64_t ino, int32_t* flags) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/fdinfo", pid);
  DIR* d = opendir(path);
  if (!d) return false;
  bool found = false;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    if ((found = fdinfoFlags(pid, strtoll(e->d_name, nullptr, 10), ino, flags))) break;
  }
  closedir(d);
  return found;
}

// The PATH record of the file that was opened.
const PathItem* openedPath(const AuditEvent& ev) {
  const PathItem* first = nullptr;
  for (const PathItem& p : ev.paths) {
    if (p.nametype == "PARENT") continue;
    if (p.nametype == "NORMAL" || p.nametype == "CREATE") return &p;
    if (!first) first = &p;
  }
  return first;
}

std::string baseName(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

class AuditBackend : public Backend {
 public:
  ~AuditBackend() override { stop(); }
  const char* name() const override { return "audit"; }
  void start(EventSink& sink, ProcessTable& table) override;
  void stop() override;
  std::map<std::string, uint64_t> stats() const override;

 private:
  enum class Mode : uint64_t { kNone = 0, kDaemon = 1, kMulticast = 2 };

  void recoverStale();
  void removeOurRules(bool for_recovery);
  void restore(const SavedState& s, int32_t registered_pid);
  audit::RuleBlob makeRule(uint32_t arch, uint64_t dev) const;
  audit::RuleBlob makeMountRule(uint32_t arch) const;
  void syncRules(const std::set<uint64_t>& devs, bool at_start, bool remove_missing);
  void onMount(int32_t pid);
  // Records in state_ what we will change when we take the daemon role (before changing it).
  void planDaemonSettings(const audit_status& st);
  void registerDaemon(const audit_status& st);
  void becomeListener();
  void saveState();
  void cleanup();

  void run();
  bool readBatch(std::vector<uint8_t>& buf);
  void finishBatch(int64_t now);
  void drainForStop(std::vector<uint8_t>& buf);
  void onRecord(uint16_t type, std::string_view text);
  void checkStatus();
  void emit(const AuditEvent& ev);

  EventSink* sink_ = nullptr;
  ProcessTable* table_ = nullptr;
  audit::StateFile state_file_;
  SavedState state_;
  NetlinkAudit ctl_;  // requests
  NetlinkAudit rd_;   // records: the daemon connection or the read-log group member
  int stop_fd_ = -1;
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
  std::unique_ptr<audit::Assembler> assembler_;
  FloodGuard flood_;
  std::vector<AuditEvent> done_;
  size_t pushed_in_batch_ = 0;

  std::atomic<uint64_t> mode_{0};
  std::atomic<uint64_t> records_{0}, events_{0}, emitted_{0}, filtered_{0}, incomplete_{0},
      kernel_lost_{0}, enobufs_{0}, parse_errors_{0}, backlog_{0}, handovers_{0}, flags_syscall_{0},
      flags_fdinfo_{0}, flags_unknown_{0}, foreign_key_{0}, procfs_instances_{0}, mounts_seen_{0},
      backlog_wait_actual_{0};
};

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
    fail("AUDIT_BUSY",
         "audit backend: another procmem-guard watcher is using the audit backend "
         "(lock " +
             state_file_.dir() + "/audit.lock); stop it first");
  }
  if (r < 0 && !state_file_.problem().empty()) {
    fail("STATE_UNSAFE",
         "audit backend: refusing to use the state directory: " + state_file_.problem() +
             " (it must be a real directory owned by root or by the watcher's uid, mode 0700; "
             "remove it "
             "and start again, or find out who created it)");
  }
  if (r < 0) {
    fail(r == -EACCES || r == -EPERM || r == -EROFS ? "EPERM_CAPTURE" : "INTERNAL",
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
      fail("AUDIT_BUSY",
           "audit backend: the audit configuration is locked (enabled=2, "
           "'auditctl -e 2'): no rule can be added until reboot; use fanotify");
    }
    if (status.failure == AUDIT_FAIL_PANIC) {
      fail("AUDIT_BUSY",
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
    assembler_ =
        std::make_unique<audit::Assembler>(kMaxPending, kMaxAgeMs, [this](const AuditEvent& ev) {
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
    std::set<uint64_t> devs = audit::procfsDevicesAllNamespaces();
    devs.insert(host_proc_dev_);
    syncRules(devs, true, true);
    if ((r = ctl_.addRule(makeMountRule(kArch64))) < 0) {
      sink_->warn(("audit backend: cannot watch mount(2) (" + errText(r) +
                   "); new procfs instances are found by the once-a-second scan only")
                      .c_str());
    }
    if (b32_ok_) ctl_.addRule(makeMountRule(kArch32));
    last_scan_ms_ = monoMs();
    stop_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (stop_fd_ < 0) fail("INTERNAL", std::string("audit backend: eventfd: ") + strerror(errno));
    last_status_ms_ = monoMs();
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
    fail("INTERNAL", "audit backend: cannot write " + state_file_.dir() +
                         "/audit.state (needed to restore audit after a crash): " + errText(r));
  }
}

// A state file while we hold the lock: the previous watcher died without cleaning up.
void AuditBackend::recoverStale() {
  SavedState old;
  audit::StateFile::Loaded have = state_file_.load(&old);
  removeOurRules(true);  // rules with our key can only be a dead watcher's: we hold the lock
  if (have == audit::StateFile::Loaded::kInvalid) {
    sink_->warn(("audit backend: ignored " + state_file_.dir() + "/" + state_file_.problem() +
                 "; nothing in it was applied to the audit configuration (moved to "
                 "audit.state.invalid)")
                    .c_str());
    state_file_.setAside();
    return;
  }
  if (have == audit::StateFile::Loaded::kNone) return;
  restore(old, old.registered_pid);
  state_file_.remove();
  char msg[160];
  snprintf(msg, sizeof(msg),
           "audit backend: restored the audit state left by a watcher that did not stop "
           "cleanly (pid %d)",
           old.owner_pid);
  sink_->warn(msg);
}

void AuditBackend::removeOurRules(bool for_recovery) {
  std::vector<audit::RuleBlob> rules;
  int r = ctl_.listRules(&rules);
  if (r < 0) {
    if (for_recovery) failNetlink("AUDIT_LIST_RULES", r);
    sink_->warn(("audit backend: cannot list audit rules to remove ours: " + errText(r)).c_str());
    return;
  }
  for (const audit::RuleBlob& rule : rules) {
    if (rule.key() != kAuditRuleKey) continue;
    r = ctl_.delRule(rule);
    if (r < 0 && r != -ENOENT) {
      sink_->warn(("audit backend: cannot remove one of our audit rules: " + errText(r)).c_str());
    }
  }
}

// Puts back what `s` says we changed, but only where the value is still the one we set and no
// audit daemon has registered since we started (a newcomer like auditd sets enabled and
// backlog_limit itself): a change made by someone else is theirs to keep.
void AuditBackend::restore(const SavedState& s, int32_t registered_pid) {
  audit_status st{};
  if (ctl_.getStatus(&st) < 0) return;
  if (registered_pid != 0 && static_cast<int32_t>(st.pid) == registered_pid) {
    audit_status un{};
    un.mask = AUDIT_STATUS_PID;
    un.pid = 0;
    ctl_.setStatus(un);  // also clears a dead watcher's registration (the kernel tests it first)
    if (ctl_.getStatus(&st) < 0) return;
  }
  int32_t daemon = static_cast<int32_t>(st.pid);
  bool newcomer = daemon != 0 && daemon != self_pid_ && daemon != s.daemon_at_start;
  audit_status put{};
  if (s.set_backlog_limit >= 0 && s.orig_backlog_limit >= 0 &&
      st.backlog_limit == static_cast<uint32_t>(s.set_backlog_limit) && !newcomer) {
    put.mask |= AUDIT_STATUS_BACKLOG_LIMIT;
    put.backlog_limit = static_cast<uint32_t>(s.orig_backlog_limit);
  }
  if (s.set_backlog_wait_time >= 0 && s.orig_backlog_wait_time >= 0 &&
      st.backlog_wait_time == static_cast<uint32_t>(s.set_backlog_wait_time) && !newcomer) {
    put.mask |= AUDIT_STATUS_BACKLOG_WAIT_TIME;
    put.backlog_wait_time = static_cast<uint32_t>(s.orig_backlog_wait_time);
  }
  if (s.set_enabled >= 0 && s.orig_enabled >= 0 &&
      st.enabled == static_cast<uint32_t>(s.set_enabled) && !newcomer) {
    put.mask |= AUDIT_STATUS_ENABLED;
    put.enabled = static_cast<uint32_t>(s.orig_enabled);
  }
  if (put.mask) {
    int r = ctl_.setStatus(put);
    if (r < 0)
      sink_->warn(("audit backend: cannot restore the audit status: " + errText(r)).c_str());
  }
}

audit::RuleBlob AuditBackend::makeRule(uint32_t arch, uint64_t dev) const {
  audit::RuleBuilder b(arch == kArchUring ? AUDIT_FILTER_URING_EXIT : AUDIT_FILTER_EXIT);
  if (arch != kArchUring) b.field(AUDIT_ARCH, AUDIT_EQUAL, arch);
  for (const SyscallId& s : kSyscalls) {
    if (s.arch == arch && s.call != Call::kMount) b.syscall(s.nr);
  }
  // Our own procfs reads (fdinfo, the process table) must not feed back into our queue.
  b.field(AUDIT_PID, AUDIT_NOT_EQUAL, static_cast<uint32_t>(self_pid_));
  b.field(AUDIT_SUCCESS, AUDIT_EQUAL, 1);  // failed opens are not reported (see docs)
  // One procfs superblock, wherever it is mounted (bind mounts included). There is no
  // filesystem-type field for exit rules; `dir=/proc` would miss other procfs instances.
  b.field(AUDIT_DEVMAJOR, AUDIT_EQUAL, major(dev));
  b.field(AUDIT_DEVMINOR, AUDIT_EQUAL, minor(dev));
  b.stringField(AUDIT_FILTERKEY, kAuditRuleKey);
  return b.build();
}

// mount(2)/move_mount(2) by anyone: a new procfs instance gets its rules as soon as its mount
// is seen, instead of at the next once-a-second scan.
audit::RuleBlob AuditBackend::makeMountRule(uint32_t arch) const {
  audit::RuleBuilder b;
  b.field(AUDIT_ARCH, AUDIT_EQUAL, arch);
  for (const SyscallId& s : kSyscalls) {
    if (s.arch == arch && s.call == Call::kMount) b.syscall(s.nr);
  }
  b.field(AUDIT_PID, AUDIT_NOT_EQUAL, static_cast<uint32_t>(self_pid_));
  b.field(AUDIT_SUCCESS, AUDIT_EQUAL, 1);
  b.stringField(AUDIT_FILTERKEY, kAuditRuleKey);
  return b.build();
}

// Makes our rules cover exactly `devs` (up to kMaxProcfsDevices procfs instances).
void AuditBackend::syncRules(const std::set<uint64_t>& devs, bool at_start, bool remove_missing) {
  for (auto it = rule_devs_.begin(); remove_missing && it != rule_devs_.end();) {
    if (devs.count(*it) || *it == host_proc_dev_) {
      ++it;
      continue;
    }
    for (uint32_t arch : {kArch64, kArch32, kArchUring}) ctl_.delRule(makeRule(arch, *it));
    it = rule_devs_.erase(it);
  }
  for (uint64_t dev : devs) {
    if (rule_devs_.count(dev)) continue;
    if (rule_devs_.size() >= kMaxProcfsDevices) {
      sink_->warn(
          "audit backend: too many procfs instances; opens through the others are not "
          "seen");
      break;
    }
    int r = ctl_.addRule(makeRule(kArch64, dev));
    if (r < 0) {
      if (at_start) failNetlink("adding the audit rule (AUDIT_ADD_RULE)", r);
      sink_->warn(
          ("audit backend: cannot add a rule for a new procfs instance: " + errText(r)).c_str());
      continue;
    }
    rule_devs_.insert(dev);
    if (b32_ok_ && (r = ctl_.addRule(makeRule(kArch32, dev))) < 0) {
      b32_ok_ = false;  // a kernel without compat support: 64-bit coverage only
      sink_->warn(("audit backend: the 32-bit compat rule was refused (" + errText(r) +
                   "); 32-bit programs are not covered")
                      .c_str());
    }
    if (uring_ok_ && (r = ctl_.addRule(makeRule(kArchUring, dev))) < 0) {
      uring_ok_ = false;  // before Linux 5.16 audit has no io_uring filter list
      sink_->warn(("audit backend: the io_uring rule was refused (" + errText(r) +
                   "); opens submitted through io_uring are not covered")
                      .c_str());
    }
  }
  procfs_instances_ = rule_devs_.size();
}

void AuditBackend::planDaemonSettings(const audit_status& st) {
  state_.registered_pid = self_pid_;
  state_.orig_backlog_limit = st.backlog_limit;
  state_.set_backlog_limit = st.backlog_limit < kBacklogWanted ? kBacklogWanted : -1;
  state_.orig_backlog_wait_time = st.backlog_wait_time;
  state_.set_backlog_wait_time = st.backlog_wait_time != 0 ? 0 : -1;
}

void AuditBackend::registerDaemon(const audit_status& st) {
  audit_status s{};
  s.mask = AUDIT_STATUS_PID;
  s.pid = static_cast<uint32_t>(self_pid_);
  if (st.enabled == 0) {
    s.mask |= AUDIT_STATUS_ENABLED;
    s.enabled = 1;
  }
  if (state_.set_backlog_limit >= 0) {
    s.mask |= AUDIT_STATUS_BACKLOG_LIMIT;
    s.backlog_limit = static_cast<uint32_t>(state_.set_backlog_limit);
  }
  if (state_.set_backlog_wait_time >= 0) {
    s.mask |= AUDIT_STATUS_BACKLOG_WAIT_TIME;
    s.backlog_wait_time = static_cast<uint32_t>(state_.set_backlog_wait_time);
  }
  // Sent on the record socket: the kernel delivers records to the socket that registered.
  int r = rd_.request(AUDIT_SET, &s, sizeof(s));
  if (r == -EEXIST) {  // a daemon registered meanwhile
    state_.registered_pid = 0;
    state_.set_backlog_limit = -1;
    state_.set_backlog_wait_time = -1;
    saveState();
    becomeListener();
    return;
  }
  if (r < 0) failNetlink("registering as the audit daemon (AUDIT_SET pid)", r);
  mode_ = static_cast<uint64_t>(Mode::kDaemon);
}

// Reads records through the read-log multicast group, leaving the daemon role to another.
void AuditBackend::becomeListener() {
  if (mode_.load() == static_cast<uint64_t>(Mode::kDaemon)) {
    SavedState mine = state_;
    mine.set_enabled = -1;  // the enabled flag is restored at stop, not now
    restore(mine, self_pid_);
    state_.registered_pid = 0;
    state_.set_backlog_limit = -1;
    state_.set_backlog_wait_time = -1;
    int r = state_file_.save(state_);
    if (r < 0) sink_->warn(("audit backend: cannot update the state file: " + errText(r)).c_str());
  }
  int group = AUDIT_NLGRP_READLOG;
  if (setsockopt(rd_.fd(), SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) != 0) {
    int r = -errno;
    if (mode_.load() == static_cast<uint64_t>(Mode::kNone)) {
      failNetlink("joining the audit read-log group (needs CAP_AUDIT_READ)", r);
    }
    sink_->warn(("audit backend: cannot join the audit read-log group: " + errText(r)).c_str());
  }
  mode_ = static_cast<uint64_t>(Mode::kMulticast);
}

void AuditBackend::stop() {
  if (!running_) return;
  uint64_t one = 1;
  if (write(stop_fd_, &one, sizeof(one)) != sizeof(one)) {
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
  if (stop_fd_ >= 0) close(stop_fd_);
  stop_fd_ = -1;
  if (state_.owner_pid == self_pid_) state_file_.remove();
  state_ = SavedState{};
  state_file_.unlock();
  mode_ = static_cast<uint64_t>(Mode::kNone);
  handover_ = false;
  rule_devs_.clear();
  b32_ok_ = uring_ok_ = true;
  assembler_.reset();
}

// Reads what is queued on the record socket, up to kBatch datagrams. Returns false when drained.
bool AuditBackend::readBatch(std::vector<uint8_t>& buf) {
  for (int i = 0; i < kBatch; i++) {
    sockaddr_nl from{};
    socklen_t fl = sizeof(from);
    ssize_t n = recvfrom(rd_.fd(), buf.data(), buf.size(), MSG_DONTWAIT,
                         reinterpret_cast<sockaddr*>(&from), &fl);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != ENOBUFS) return false;  // EAGAIN: drained
      // The socket overflowed. Multicast copies are gone for good (count unknown: 1). On the
      // daemon path the kernel keeps and retries the record and counts real drops in `lost`.
      enobufs_++;
      if (mode_.load() == static_cast<uint64_t>(Mode::kMulticast)) {
        sink_->lost(LossCause::kAuditLost, 1);
      }
      continue;
    }
    if (from.nl_pid != 0) continue;
    audit::forEachMessage(
        buf.data(), static_cast<size_t>(n),
        [this](uint16_t type, std::string_view text) { onRecord(type, text); },
        [](const nlmsghdr*) {});  // late acks of our requests
  }
  return true;
}

// Emits what the assembler completed, then wakes JavaScript once for the batch.
void AuditBackend::finishBatch(int64_t now) {
  uint64_t incomplete = 0;
  assembler_->expire(now, &done_, &incomplete);
  if (incomplete) {
    incomplete_ += incomplete;
    sink_->lost(LossCause::kAuditIncomplete, incomplete);
  }
  for (const AuditEvent& ev : done_) emit(ev);
  done_.clear();
  if (pushed_in_batch_) sink_->flush();
  pushed_in_batch_ = 0;
}

// At stop: remove our rules first, then read what the kernel still has queued for us (up to
// 500 ms) so that, when we unregister as the daemon, nothing of ours is left to go to printk.
void AuditBackend::drainForStop(std::vector<uint8_t>& buf) {
  removeOurRules(false);
  int64_t deadline = monoMs() + 500;
  while (monoMs() < deadline) {
    while (readBatch(buf)) {
    }
    finishBatch(monoMs());
    audit_status st{};
    if (ctl_.getStatus(&st) < 0 || st.backlog == 0) break;
    pollfd p{rd_.fd(), POLLIN, 0};
    poll(&p, 1, 20);
  }
  while (readBatch(buf)) {
  }
  finishBatch(monoMs());
}

void AuditBackend::run() {
  pthread_setname_np(pthread_self(), "pmg-audit");  // best effort; shows in task/*/comm
  // Best effort (needs CAP_SYS_NICE): the sooner a mount record is read, the sooner a new procfs
  // instance is covered; and a slow reader loses records once the backlog is full.
  if (setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), -10) != 0) errno = 0;
  std::vector<uint8_t> buf(16384);
  pollfd fds[2] = {{rd_.fd(), POLLIN, 0}, {stop_fd_, POLLIN, 0}};
  for (;;) {
    int r = poll(fds, 2, kPollMs);
    if (r < 0 && errno != EINTR) {
      sink_->warn((std::string("audit backend: poll: ") + strerror(errno)).c_str());
      break;
    }
    if (r > 0 && (fds[1].revents & POLLIN)) {
      drainForStop(buf);
      break;
    }
    if (r > 0 && (fds[0].revents & (POLLIN | POLLERR))) readBatch(buf);
    int64_t now = monoMs();
    finishBatch(now);
    if (now - last_scan_ms_ >= kScanEveryMs) {
      last_scan_ms_ = now;
      syncRules(audit::procfsDevicesAllNamespaces(), false, true);
    }
    if (now - last_status_ms_ >= kStatusEveryMs || handover_) {
      last_status_ms_ = now;
      checkStatus();
      fds[0].fd = rd_.fd();
    }
  }
}

void AuditBackend::onRecord(uint16_t type, std::string_view text) {
  if (type == AUDIT_REPLACE) {  // an audit daemon is trying to register: step aside
    handover_ = true;
    return;
  }
  if (type != AUDIT_SYSCALL && type != AUDIT_URINGOP && type != AUDIT_CWD && type != AUDIT_PATH &&
      type != AUDIT_EOE && type != AUDIT_PROCTITLE) {
    return;
  }
  records_++;
  uint64_t incomplete = 0;
  if (!assembler_->feed(type, text, monoMs(), &done_, &incomplete)) parse_errors_++;
  if (incomplete) {
    incomplete_ += incomplete;
    sink_->lost(LossCause::kAuditIncomplete, incomplete);
  }
}

// Someone mounted something: if it is a procfs, cover it now (the mounter's namespace).
void AuditBackend::onMount(int32_t pid) {
  mounts_seen_++;
  std::set<uint64_t> devs = audit::procfsDevicesIn("/proc/" + std::to_string(pid) + "/mountinfo");
  for (uint64_t dev : devs) {
    if (!rule_devs_.count(dev)) {
      syncRules(devs, false, false);
      return;
    }
  }
}

// Kernel counters and the daemon role, once a second.
void AuditBackend::checkStatus() {
  audit_status st{};
  int r = ctl_.getStatus(&st);
  if (r < 0) {
    sink_->warn(("audit backend: AUDIT_GET failed: " + errText(r)).c_str());
    return;
  }
  backlog_ = st.backlog;
  // Time the kernel made loggers wait for backlog room since we started (jiffies; any
  // daemon's doing: ours never asks for a wait, see kBacklogWanted).
  if (st.backlog_wait_time_actual >= wait_actual_at_start_)
    backlog_wait_actual_ = st.backlog_wait_time_actual - wait_actual_at_start_;
  if (st.lost > last_lost_) {
    uint64_t delta = st.lost - last_lost_;
    kernel_lost_ += delta;
    sink_->lost(LossCause::kAuditLost, delta);
  }
  last_lost_ = st.lost;  // also follows a reset of the counter
  Mode mode = static_cast<Mode>(mode_.load());
  if (mode == Mode::kDaemon && (handover_ || static_cast<int32_t>(st.pid) != self_pid_)) {
    handovers_++;
    stepped_aside_ms_ = monoMs();
    becomeListener();
    sink_->warn(
        "audit backend: an audit daemon is taking over; reading its records through the "
        "read-log group from now on");
  } else if (mode == Mode::kMulticast && st.pid == 0 &&
             monoMs() - stepped_aside_ms_ >= kHandoverGraceMs) {
    // The daemon went away: records would go to the kernel log. Take the role back (after a
    // grace period, so that a daemon restarting after a failed start can register first).
    int group = AUDIT_NLGRP_READLOG;
    planDaemonSettings(st);  // the departed daemon's settings are the ones to restore
    int w = state_file_.save(state_);
    if (w < 0) sink_->warn(("audit backend: cannot update the state file: " + errText(w)).c_str());
    try {
      registerDaemon(st);
      if (mode_.load() == static_cast<uint64_t>(Mode::kDaemon)) {
        setsockopt(rd_.fd(), SOL_NETLINK, NETLINK_DROP_MEMBERSHIP, &group, sizeof(group));
        handovers_++;
      }
    } catch (const CaptureError& e) {
      sink_->warn(e.message.c_str());
    }
  }
  handover_ = false;
}

void AuditBackend::emit(const AuditEvent& ev) {
  events_++;
  const SyscallId* sc = findSyscall(ev.arch, ev.syscall);
  const PathItem* p = openedPath(ev);
  if (!sc || sc->call == Call::kMount || !ev.success || !p || !p->has_name || p->name.empty()) {
    filtered_++;
    return;
  }
  if (ev.key != kAuditRuleKey) foreign_key_++;
  // Name as passed -> absolute path as the opener sees it.
  std::string base;
  if (p->name.front() != '/') {
    int32_t dirfd = static_cast<int32_t>(ev.args[0]);
    // io_uring: the directory fd of the SQE is not in the record; assume the CWD.
    if (sc->call == Call::kOpen || sc->arch == kArchUring || dirfd == kAtFdcwd) {
      base = ev.cwd;
    } else {
      base = readLink("/proc/" + std::to_string(ev.pid) + "/fd/" + std::to_string(dirfd));
    }
  }
  std::string resolved = base.empty() && p->name.front() != '/' ? p->name : joinPath(base, p->name);
  MemPath m;
  bool parsed = parseMemPath(resolved, SelfNames::kAccept, &m);
  // Our rules match procfs devices only, but a record can also come from another rule that
  // matched first (foreign key): the device decides.
  bool known_procfs = rule_devs_.count(p->dev) > 0;
  bool procfs_mem = known_procfs
                        ? (parsed || baseName(p->name) == "mem")
                        : (parsed && major(p->dev) == 0 && p->mode == (S_IFREG | 0600));  // unknown
  if (!procfs_mem) {
    filtered_++;
    return;
  }

  CaptureRecord rec{};
  rec.size = kRecordSize;
  rec.version = kRecordVersion;
  rec.backend = static_cast<uint8_t>(BackendId::kAudit);
  rec.timestamp_ns = clockNs(CLOCK_REALTIME);
  rec.monotonic_ns = clockNs(CLOCK_MONOTONIC);
  table_->attribute(ev.pid, ev.pid, &rec);
  // The SYSCALL record is exact at the moment of the open: it wins over the table.
  rec.host_pid = ev.pid;
  if (rec.host_tid == 0) rec.host_tid = ev.pid;  // audit does not report the thread id
  rec.host_ppid = ev.ppid;
  rec.uid = ev.uid;
  rec.gid = ev.gid;
  if (!flood_.admitOrFold(ev.uid, rec.monotonic_ns, *sink_)) return;  // a flood by this uid
  uint32_t flags = rec.record_flags & ~static_cast<uint32_t>(kAttributionMissing);
  if (!ev.comm.empty()) copyStr(rec.comm, sizeof(rec.comm), ev.comm, &flags);
  if (!ev.exe.empty()) copyStr(rec.exe, sizeof(rec.exe), ev.exe, &flags);
  if (rec.ns_pid == 0) rec.ns_pid = rec.host_pid;
  if (rec.ns_tid == 0) rec.ns_tid = rec.host_tid;
  if (rec.ns_ppid == 0) rec.ns_ppid = rec.host_ppid;

  flags |= kProcfsMem;
  if (m.task) flags |= kThreadMem;
  if (m.self) {
    rec.target_pid = rec.host_pid;
    rec.target_tid = m.thread_self ? rec.host_tid : m.task ? m.tid : rec.host_pid;
    flags |= kSelfTarget;
    // As the kernel's d_path would show it: /proc/<pid>/... instead of /proc/self/...
    size_t at = resolved.rfind(m.thread_self ? "/thread-self/" : "/self/");
    if (at != std::string::npos) {
      std::string repl = "/" + std::to_string(rec.ns_pid) +
                         (m.thread_self ? "/task/" + std::to_string(rec.ns_tid) + "/" : "/");
      resolved.replace(at, m.thread_self ? 13 : 6, repl);
    }
  } else if (parsed) {
    rec.target_pid = m.pid;
    rec.target_tid = m.task ? m.tid : m.pid;
    // Numbers in another procfs instance are in that instance's pid namespace.
    if (p->dev != host_proc_dev_ && rec.pid_ns != 0 && rec.pid_ns != self_pid_ns_) {
      int32_t hp = table_->hostPidOf(rec.pid_ns, m.pid);
      int32_t ht = m.task ? table_->hostPidOf(rec.pid_ns, m.tid) : hp;
      if (hp) rec.target_pid = hp;
      if (ht) rec.target_tid = ht;
    }
    if (rec.target_pid == rec.host_pid) flags |= kSelfTarget;
  }
  if (rec.target_pid > 0 && kill(rec.target_pid, 0) != 0 && errno == ESRCH) flags |= kTargetExited;

  // openat2's a2 points to struct open_how in the opener's memory, and an io_uring record has
  // no arguments at all: their flags come from fdinfo of the returned fd.
  Call how = sc->arch == kArchUring ? Call::kOpenat2 : sc->call;
  switch (how) {
    case Call::kOpen:
      rec.open_flags = static_cast<int32_t>(ev.args[1]);
      rec.flags_source = static_cast<uint8_t>(FlagsSource::kSyscall);
      flags_syscall_++;
      break;
    case Call::kOpenat:
      rec.open_flags = static_cast<int32_t>(ev.args[2]);
      rec.flags_source = static_cast<uint8_t>(FlagsSource::kSyscall);
      flags_syscall_++;
      break;
    case Call::kOpenat2:
    case Call::kMount:  // not reached: mount events are never assembled
      if (sc->arch == kArchUring ? fdinfoFlagsByInode(ev.pid, p->inode, &rec.open_flags)
                                 : fdinfoFlags(ev.pid, ev.exit, p->inode, &rec.open_flags)) {
        rec.flags_source = static_cast<uint8_t>(FlagsSource::kFdinfo);
        flags_fdinfo_++;
      } else {
        rec.open_flags = O_RDWR;
        rec.flags_source = static_cast<uint8_t>(FlagsSource::kUnknown);
        flags_unknown_++;
      }
      break;
  }
  rec.dev = p->dev;
  rec.inode = p->inode;
  rec.return_value = static_cast<int32_t>(ev.exit);  // io_uring: the op's result, not the fd
  rec.syscall_nr = canonicalNr(sc->call);
  copyStr(rec.pathname, sizeof(rec.pathname), resolved, &flags);
  copyStr(rec.syscall_pathname, sizeof(rec.syscall_pathname), p->name, &flags);
  rec.record_flags = flags;
  enrichTarget(*table_, &rec);
  sink_->push(rec);
  emitted_++;
  pushed_in_batch_++;
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
          {"folded", flood_.folded()}};
}

}  // namespace

std::unique_ptr<Backend> makeAuditBackend() { return std::make_unique<AuditBackend>(); }

int auditGetStatus(AuditStatusInfo* out) {
  NetlinkAudit nl;
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
  NetlinkAudit nl;
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
