// TEMPORARY stand-in for the real ProcessTable (branch `proc`), so the fanotify branch builds
// and its live tests run. It reads /proc on every call and keeps nothing, so it cannot
// attribute an opener that has already exited. Delete this file when merging `proc`.
#include <dirent.h>

#include <cstdio>
#include <cstring>
#include <sstream>

#include "../util/proc_files.h"
#include "process_table.h"

namespace pmg {
namespace {

int32_t lastInt(const std::string& list) {
  std::istringstream in(list);
  int32_t v = 0, last = 0;
  while (in >> v) last = v;
  return last;
}

class StubProcessTable : public ProcessTable {
 public:
  void start() override {}
  void stop() override {}

  bool lookup(int32_t host_pid, int32_t host_tid, ProcessInfo* out) override {
    std::string dir = "/proc/" + std::to_string(host_tid) + "/";
    std::string status, v;
    if (!readSmallFile(dir + "status", &status)) return false;
    *out = ProcessInfo{};
    out->host_tid = host_tid;
    out->host_pid = fieldValue(status, "Tgid", &v) ? std::atoi(v.c_str()) : host_pid;
    out->host_ppid = fieldValue(status, "PPid", &v) ? std::atoi(v.c_str()) : 0;
    out->ns_pid = fieldValue(status, "NStgid", &v) ? lastInt(v) : out->host_pid;
    out->ns_tid = fieldValue(status, "NSpid", &v) ? lastInt(v) : host_tid;
    if (fieldValue(status, "Uid", &v)) out->uid = static_cast<uint32_t>(std::atoi(v.c_str()));
    if (fieldValue(status, "Gid", &v)) out->gid = static_cast<uint32_t>(std::atoi(v.c_str()));
    if (fieldValue(status, "Name", &v)) out->comm = v;
    readLink(dir + "exe", &out->exe);
    if (readLink(dir + "ns/mnt", &v)) out->mnt_ns = static_cast<uint32_t>(nsInodeOf(v));
    if (readLink(dir + "ns/pid", &v)) out->pid_ns = static_cast<uint32_t>(nsInodeOf(v));
    return true;
  }

  int32_t hostPidOf(uint32_t pid_ns, int32_t ns_pid) override {
    DIR* d = opendir("/proc");
    if (!d) return 0;
    int32_t found = 0;
    while (struct dirent* e = readdir(d)) {
      uint64_t pid = 0;
      std::string v, status;
      if (!parseDecimal(e->d_name, &pid)) continue;
      std::string dir = std::string("/proc/") + e->d_name + "/";
      if (!readLink(dir + "ns/pid", &v) || nsInodeOf(v) != pid_ns) continue;
      if (readSmallFile(dir + "status", &status) && fieldValue(status, "NStgid", &v) &&
          lastInt(v) == ns_pid) {
        found = static_cast<int32_t>(pid);
        break;
      }
    }
    closedir(d);
    return found;
  }

  void attribute(int32_t host_pid, int32_t host_tid, CaptureRecord* rec) override {
    ProcessInfo p;
    if (!lookup(host_pid, host_tid, &p)) {
      rec->host_pid = host_pid;
      rec->host_tid = host_tid;
      rec->record_flags |= kAttributionMissing;
      return;
    }
    rec->host_pid = p.host_pid;
    rec->host_tid = p.host_tid;
    rec->host_ppid = p.host_ppid;
    rec->ns_pid = p.ns_pid;
    rec->ns_tid = p.ns_tid;
    rec->uid = p.uid;
    rec->gid = p.gid;
    rec->mnt_ns = p.mnt_ns;
    rec->pid_ns = p.pid_ns;
    std::snprintf(rec->comm, sizeof rec->comm, "%s", p.comm.c_str());
    std::snprintf(rec->exe, sizeof rec->exe, "%s", p.exe.c_str());
  }
};

}  // namespace

std::unique_ptr<ProcessTable> makeProcessTable() { return std::make_unique<StubProcessTable>(); }

}  // namespace pmg
