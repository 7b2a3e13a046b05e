// Finds every procfs instance (superblock) on the host: the host's /proc, bind mounts of it,
// and the procfs mounts of other mount namespaces (containers, `unshare --mount-proc`),
// reached through /proc/<pid>/root/<mountpoint> of one process per mount namespace.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "../util/mountinfo.h"

namespace pmg {

struct ProcfsInstance {
  uint64_t dev = 0;        // st_dev of the superblock (reused once the superblock is gone)
  uint64_t mount_id = 0;   // statx mount id of `path`: tells a live instance from a dead one
  std::string path;        // a path reaching it from our mount namespace (to mark it)
  std::string mountpoint;  // where it is mounted in its own mount namespace
  uint32_t pid_ns = 0;     // pid namespace whose pids it shows (0 if unknown)
  bool host_pids = false;  // it shows our own pid namespace: its pids need no translation
};

class ProcfsInstanceScanner {
 public:
  // per_mount: key instances by mount (for FAN_MARK_MOUNT) instead of by superblock.
  explicit ProcfsInstanceScanner(bool per_mount = false);

  // Instances not returned before. Cheap when nothing changed: it reads every process's
  // ns/mnt link, and mountinfo only for namespaces that are new, young (< 10 s, to catch a
  // procfs mounted just after the namespace was created) or due for their periodic re-read.
  std::vector<ProcfsInstance> scanNew();
  // The same for one process that just exec'd, so a new namespace's procfs is marked at
  // once rather than at the next pass: a runtime (or `unshare --mount-proc`) mounts /proc
  // and then execs the namespace's first program. Only new or young namespaces are read.
  std::vector<ProcfsInstance> scanProcess(int32_t pid);
  // Forget an instance (its mark failed) so the next scan offers it again.
  void forget(const ProcfsInstance& inst);
  const ProcfsInstance* byDev(uint64_t dev) const;
  size_t count() const { return instances_.size(); }

 private:
  struct MountNs {
    int32_t pid;  // a process in it, to reach its mounts through /proc/<pid>/root
    uint64_t first_seen_ns;
  };
  void visit(int32_t pid, uint64_t ns, uint64_t now, bool full, std::vector<ProcfsInstance>* found);
  void scanNamespace(int32_t pid, bool own_ns, std::vector<ProcfsInstance>* found);
  // One procfs mount of that namespace's mountinfo, if it is an instance not known yet.
  void addInstance(const std::string& pid_dir, bool own_ns, const MountInfo& m,
                   std::vector<ProcfsInstance>* found);
  std::string keyOf(const ProcfsInstance& inst, const std::string& mount_id) const;

  bool per_mount_;
  uint64_t own_mnt_ns_ = 0, own_pid_ns_ = 0;
  uint64_t passes_ = 0;
  std::unordered_map<uint64_t, MountNs> mnt_ns_;
  std::unordered_map<std::string, ProcfsInstance> instances_;  // by keyOf
};

}  // namespace pmg
