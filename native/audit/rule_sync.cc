// The audit backend's rules: one set per procfs device (each procfs mount is its own
// superblock, and exit rules match a device exactly), kept in step with the procfs instances
// on the host, a mount(2) watch that finds new ones at once, and removal of ours.
#include <errno.h>
#include <sys/sysmacros.h>

#include "audit_backend_impl.h"
#include "procfs_devs.h"
#include "syscalls.h"

namespace pmg::audit {

namespace {

constexpr size_t kMaxProcfsDevices = 256;  // rule sets

}  // namespace

void AuditBackend::removeOurRules(bool for_recovery) {
  std::vector<RuleBlob> rules;
  int r = ctl_.listRules(&rules);
  if (r < 0) {
    if (for_recovery) failNetlink("AUDIT_LIST_RULES", r);
    sink_->warn(("audit backend: cannot list audit rules to remove ours: " + errText(r)).c_str());
    return;
  }
  for (const RuleBlob& rule : rules) {
    if (rule.key() != kAuditRuleKey) continue;
    r = ctl_.delRule(rule);
    if (r < 0 && r != -ENOENT) {
      sink_->warn(("audit backend: cannot remove one of our audit rules: " + errText(r)).c_str());
    }
  }
}

RuleBlob AuditBackend::makeRule(uint32_t arch, uint64_t dev) const {
  RuleBuilder b(arch == kArchUring ? AUDIT_FILTER_URING_EXIT : AUDIT_FILTER_EXIT);
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
RuleBlob AuditBackend::makeMountRule(uint32_t arch) const {
  RuleBuilder b;
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

// Someone mounted something: if it is a procfs, cover it now (the mounter's namespace).
void AuditBackend::onMount(int32_t pid) {
  mounts_seen_++;
  std::set<uint64_t> devs = procfsDevicesIn("/proc/" + std::to_string(pid) + "/mountinfo");
  for (uint64_t dev : devs) {
    if (!rule_devs_.count(dev)) {
      syncRules(devs, false, false);
      return;
    }
  }
}

}  // namespace pmg::audit
