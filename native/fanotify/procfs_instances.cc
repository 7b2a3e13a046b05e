#include "procfs_instances.h"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <sstream>

#include "../util/proc_files.h"

namespace pmg {
namespace {

constexpr long kProcSuperMagic = 0x9fa0;
constexpr uint64_t kYoungNsNs = 10ull * 1000 * 1000 * 1000;
constexpr uint64_t kFullRescanEveryPasses = 4;

uint64_t nsOfPid(const std::string& pid_dir, const char* kind) {
  std::string target;
  return readLink(pid_dir + "/ns/" + kind, &target) ? nsInodeOf(target) : 0;
}

}  // namespace

std::string unescapeMountPath(const std::string& field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      int v = 0;
      bool ok = true;
      for (size_t k = 1; k <= 3; ++k) {
        char c = field[i + k];
        if (c < '0' || c > '7') ok = false;
        v = v * 8 + (c - '0');
      }
      if (ok) {
        out.push_back(static_cast<char>(v));
        i += 3;
        continue;
      }
    }
    out.push_back(field[i]);
  }
  return out;
}

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
  DIR* dir = opendir("/proc");
  if (!dir) return found;
  std::unordered_map<uint64_t, bool> visited;  // each namespace once per pass
  while (struct dirent* e = readdir(dir)) {
    uint64_t pid = 0;
    if (!parseDecimal(e->d_name, &pid)) continue;
    uint64_t ns = nsOfPid(std::string("/proc/") + e->d_name, "mnt");
    if (ns == 0 || visited.count(ns)) continue;
    visited[ns] = true;
    auto it = mnt_ns_.find(ns);
    bool fresh = it == mnt_ns_.end();
    if (fresh) it = mnt_ns_.emplace(ns, MountNs{static_cast<int32_t>(pid), now}).first;
    it->second.pid = static_cast<int32_t>(pid);
    if (fresh || full || now - it->second.first_seen_ns < kYoungNsNs)
      scanNamespace(static_cast<int32_t>(pid), ns == own_mnt_ns_, &found);
  }
  closedir(dir);
  for (auto it = mnt_ns_.begin(); it != mnt_ns_.end();) {  // namespaces that are gone
    it = visited.count(it->first) ? std::next(it) : mnt_ns_.erase(it);
  }
  return found;
}

void ProcfsInstanceScanner::scanNamespace(int32_t pid, bool own_ns,
                                          std::vector<ProcfsInstance>* found) {
  std::string pid_dir = "/proc/" + std::to_string(pid);
  std::string mountinfo;
  if (!readSmallFile(pid_dir + "/mountinfo", &mountinfo, 4 << 20)) return;
  std::istringstream lines(mountinfo);
  std::string line;
  while (std::getline(lines, line)) {
    size_t sep = line.find(" - ");
    if (sep == std::string::npos || line.compare(sep + 3, 5, "proc ") != 0) continue;
    std::istringstream fields(line.substr(0, sep));
    std::string mount_id, parent, majmin, root, mountpoint;
    if (!(fields >> mount_id >> parent >> majmin >> root >> mountpoint)) continue;
    ProcfsInstance inst;
    inst.mountpoint = unescapeMountPath(mountpoint);
    inst.path = own_ns ? inst.mountpoint : pid_dir + "/root" + inst.mountpoint;
    struct stat st;
    struct statfs sfs;
    // The path resolves to the topmost mount at that mountpoint; a procfs hidden under
    // another mount is unreachable by path for openers too.
    if (stat(inst.path.c_str(), &st) != 0 || statfs(inst.path.c_str(), &sfs) != 0 ||
        sfs.f_type != kProcSuperMagic)
      continue;
    inst.dev = st.st_dev;
    std::string key = keyOf(inst, mount_id);
    if (instances_.count(key)) continue;
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
