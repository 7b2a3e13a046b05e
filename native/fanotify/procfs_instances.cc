#include "procfs_instances.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <unordered_set>

#include "../util/clock.h"
#include "../util/mountinfo.h"
#include "../util/proc_files.h"

namespace pmg {
namespace {

constexpr long kProcSuperMagic = 0x9fa0;
constexpr uint64_t kYoungNsNs = 10ull * 1000 * 1000 * 1000;
constexpr uint64_t kFullRescanEveryPasses = 4;

// The mount id statx reports for `path` (the never-reused 64-bit one where the kernel has it),
// or 0.
uint64_t mountIdOf(const std::string& path) {
  constexpr unsigned kStatxMntIdUnique = 0x4000;  // Linux 6.8
  for (unsigned want : {kStatxMntIdUnique, static_cast<unsigned>(STATX_MNT_ID)}) {
    struct statx sx;
    if (statx(AT_FDCWD, path.c_str(), 0, want, &sx) == 0 && (sx.stx_mask & want))
      return sx.stx_mnt_id;
  }
  return 0;
}

uint64_t nsOfPid(const std::string& pid_dir, const char* kind) {
  std::string target;
  return readLink(pid_dir + "/ns/" + kind, &target) ? nsInodeOf(target) : 0;
}

}  // namespace

ProcfsInstanceScanner::ProcfsInstanceScanner(bool per_mount) : per_mount_(per_mount) {
  own_mnt_ns_ = nsOfPid("/proc/self", "mnt");
  own_pid_ns_ = nsOfPid("/proc/self", "pid");
}

std::string ProcfsInstanceScanner::keyOf(const ProcfsInstance& inst,
                                         const std::string& mount_id) const {
  return per_mount_ ? std::to_string(inst.dev) + ":" + mount_id : std::to_string(inst.dev);
}

std::vector<ProcfsInstance> ProcfsInstanceScanner::scanNew() {
  std::vector<ProcfsInstance> found;
  uint64_t now = monotonicNs();
  bool full = passes_++ % kFullRescanEveryPasses == 0;
  std::unordered_set<uint64_t> visited;  // each namespace once per pass
  forEachMountNamespace([&](int32_t pid, uint64_t ns) {
    visited.insert(ns);
    visit(pid, ns, now, full, &found);
  });
  for (auto it = mnt_ns_.begin(); it != mnt_ns_.end();) {  // namespaces that are gone
    it = visited.count(it->first) ? std::next(it) : mnt_ns_.erase(it);
  }
  return found;
}

std::vector<ProcfsInstance> ProcfsInstanceScanner::scanProcess(int32_t pid) {
  std::vector<ProcfsInstance> found;
  uint64_t ns = nsOfPid("/proc/" + std::to_string(pid), "mnt");
  if (ns != 0) visit(pid, ns, monotonicNs(), false, &found);
  return found;
}

void ProcfsInstanceScanner::visit(int32_t pid, uint64_t ns, uint64_t now, bool full,
                                  std::vector<ProcfsInstance>* found) {
  auto it = mnt_ns_.find(ns);
  bool fresh = it == mnt_ns_.end();
  if (fresh) it = mnt_ns_.emplace(ns, MountNs{pid, now}).first;
  it->second.pid = pid;
  if (fresh || full || now - it->second.first_seen_ns < kYoungNsNs)
    scanNamespace(pid, ns == own_mnt_ns_, found);
}

void ProcfsInstanceScanner::scanNamespace(int32_t pid, bool own_ns,
                                          std::vector<ProcfsInstance>* found) {
  std::string pid_dir = "/proc/" + std::to_string(pid);
  forEachMountIn(pid_dir + "/mountinfo", [&](const MountInfo& m) {
    if (m.fstype == "proc") addInstance(pid_dir, own_ns, m, found);
  });
}

void ProcfsInstanceScanner::addInstance(const std::string& pid_dir, bool own_ns, const MountInfo& m,
                                        std::vector<ProcfsInstance>* found) {
  ProcfsInstance inst;
  inst.mountpoint = m.mountpoint;
  inst.path = own_ns ? inst.mountpoint : pid_dir + "/root" + inst.mountpoint;
  struct stat st;
  struct statfs sfs;
  // The path resolves to the topmost mount at that mountpoint; a procfs hidden under
  // another mount is unreachable by path for openers too.
  if (stat(inst.path.c_str(), &st) != 0 || statfs(inst.path.c_str(), &sfs) != 0 ||
      sfs.f_type != kProcSuperMagic)
    return;
  inst.dev = st.st_dev;
  std::string key = keyOf(inst, m.mount_id);
  auto known = instances_.find(key);
  if (known != instances_.end()) {
    // The dev of a dead procfs is soon reused by a new one (each `unshare --mount-proc`
    // gets one): the known instance counts only if its path still reaches its mount.
    const ProcfsInstance& old = known->second;
    if (old.mount_id != 0 && mountIdOf(old.path) == old.mount_id) return;
    instances_.erase(known);
  }
  inst.mount_id = mountIdOf(inst.path);
  // An instance of our own pid namespace shows us under our own pid as "self". Any other
  // shows the pid namespace of its pid 1 (whose ns link may be unreadable, e.g. a host
  // init protected from ptrace: pid_ns stays 0 and its pids are taken as host pids).
  std::string self;
  if (readLink(inst.path + "/self", &self) && self == std::to_string(getpid())) {
    inst.pid_ns = static_cast<uint32_t>(own_pid_ns_);
  } else {
    inst.pid_ns = static_cast<uint32_t>(nsOfPid(inst.path + "/1", "pid"));
  }
  inst.host_pids = inst.pid_ns == 0 || inst.pid_ns == own_pid_ns_;
  instances_.emplace(key, inst);
  found->push_back(inst);
}

void ProcfsInstanceScanner::forget(const ProcfsInstance& inst) {
  for (auto it = instances_.begin(); it != instances_.end(); ++it) {
    if (it->second.dev == inst.dev && it->second.path == inst.path) {
      instances_.erase(it);
      return;
    }
  }
}

const ProcfsInstance* ProcfsInstanceScanner::byDev(uint64_t dev) const {
  for (const auto& kv : instances_)
    if (kv.second.dev == dev) return &kv.second;
  return nullptr;
}

}  // namespace pmg
