// Cheap reads of /proc: one directory fd per task, then open/read/close of fixed-size buffers
// relative to it, so every file read belongs to the same task even if its pid is reused.
#include "procfs.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>

#include "../util/proc_files.h"
#include "../util/task_stat.h"
#include "../util/unique_fd.h"

namespace pmg {
namespace procfs {
namespace {

// The cgroup v2 mount whose directory inodes are the cgroup ids: /sys/fs/cgroup (unified) or
// /sys/fs/cgroup/unified (hybrid). Empty if there is none.
const std::string& cgroup2Root() {
  static const std::string root = [] {
    for (const char* p : {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"}) {
      struct statfs sfs;
      if (statfs(p, &sfs) == 0 && static_cast<unsigned long>(sfs.f_type) == CGROUP2_SUPER_MAGIC) {
        return std::string(p);
      }
    }
    return std::string();
  }();
  return root;
}

uint64_t nsInode(int dirfd, const char* name) {
  struct stat st;
  if (fstatat(dirfd, name, &st, 0) != 0) return 0;
  return static_cast<uint64_t>(st.st_ino);
}

// Last number of a whitespace-separated list ("NSpid:\t1234\t7" -> 7) and how many there are.
int32_t lastNumber(const char* p, const char* end, int* count) {
  int32_t last = 0;
  *count = 0;
  while (p < end) {
    while (p < end && (*p == ' ' || *p == '\t')) ++p;
    if (p >= end || *p < '0' || *p > '9') break;
    char* q = nullptr;
    long v = strtol(p, &q, 10);
    if (q == p) break;
    last = static_cast<int32_t>(v);
    ++*count;
    p = q;
  }
  return last;
}

bool startsWith(const char* line, const char* end, const char* key, size_t key_len) {
  return static_cast<size_t>(end - line) >= key_len && memcmp(line, key, key_len) == 0;
}

struct StatusFields {
  int32_t tgid = 0, ppid = 0, ns_tgid = 0, ns_pid = 0;
  int ns_depth = 0;
  uint32_t uid = 0, gid = 0;
  bool have_ids = false;
};

void parseStatus(const char* buf, long len, StatusFields* f) {
  const char* p = buf;
  const char* end = buf + len;
  while (p < end) {
    const char* eol = static_cast<const char*>(memchr(p, '\n', static_cast<size_t>(end - p)));
    if (eol == nullptr) eol = end;
    int n = 0;
#define PMG_KEY(k) startsWith(p, eol, k, sizeof(k) - 1)
    if (PMG_KEY("Tgid:")) {
      f->tgid = lastNumber(p + 5, eol, &n);
    } else if (PMG_KEY("PPid:")) {
      f->ppid = lastNumber(p + 5, eol, &n);
    } else if (PMG_KEY("Uid:")) {
      // Real, effective, saved, fs: the first is the real uid (see process_table.h).
      f->uid = static_cast<uint32_t>(strtoul(p + 4, nullptr, 10));
      f->have_ids = true;
    } else if (PMG_KEY("Gid:")) {
      f->gid = static_cast<uint32_t>(strtoul(p + 4, nullptr, 10));
    } else if (PMG_KEY("NStgid:")) {
      f->ns_tgid = lastNumber(p + 7, eol, &n);
    } else if (PMG_KEY("NSpid:")) {
      f->ns_pid = lastNumber(p + 6, eol, &f->ns_depth);
    }
#undef PMG_KEY
    p = eol + 1;
  }
}

// Returns false if the file could not be read (the task is exiting).
bool readCgroup(int dirfd, ProcessInfo* out) {
  char buf[4096];
  long n = readSmallAt(dirfd, "cgroup", buf, sizeof(buf));
  if (n <= 0) return false;
  const char* p = buf;
  const char* end = buf + n;
  const char* v2 = nullptr;
  const char* v2_end = nullptr;
  while (p < end) {
    const char* eol = static_cast<const char*>(memchr(p, '\n', static_cast<size_t>(end - p)));
    if (eol == nullptr) eol = end;
    // "hierarchy:controllers:path"; cgroup v2 is "0::path".
    const char* c1 = static_cast<const char*>(memchr(p, ':', static_cast<size_t>(eol - p)));
    const char* c2 =
        c1 ? static_cast<const char*>(memchr(c1 + 1, ':', static_cast<size_t>(eol - c1 - 1)))
           : nullptr;
    if (c2 != nullptr) {
      std::string_view path(c2 + 1, static_cast<size_t>(eol - c2 - 1));
      if (eol - p >= 3 && memcmp(p, "0::", 3) == 0) {
        v2 = c2 + 1;
        v2_end = eol;
      }
      if (out->container_id.empty()) out->container_id = containerIdFromCgroup(path);
    }
    p = eol + 1;
  }
  if (v2 == nullptr) return true;
  const std::string& root = cgroup2Root();
  if (root.empty()) return true;
  std::string full = root;
  full.append(v2, static_cast<size_t>(v2_end - v2));
  struct stat st;
  if (stat(full.c_str(), &st) == 0) out->cgroup_id = static_cast<uint64_t>(st.st_ino);
  return true;
}

// (kernel dev, inode) -> exe path, filled by every successful read of an exe link.
struct ExeCache {
  std::mutex mu;
  std::unordered_map<uint64_t, std::pair<uint64_t, std::string>> by_ino;  // ino -> (dev, path)
};
ExeCache& exeCache() {
  static ExeCache* cache = new ExeCache;  // never destroyed: usable from any thread at exit
  return *cache;
}
constexpr size_t kExeCacheMax = 4096;

uint64_t kernelDev(dev_t d) {
  uint64_t ma = major(d), mi = minor(d);
  return (mi & 0xff) | (ma << 8) | ((mi & ~0xffull) << 12);
}

// Remembers `path` for the file the link points to now, if that is the file it pointed to
// before the readlink (`before`): a task that exec'd in between would pair the old path with
// the new binary.
void rememberExe(int dirfd, const struct stat& before, const std::string& path) {
  struct stat after;
  if (path.empty() || fstatat(dirfd, "exe", &after, 0) != 0) return;
  if (after.st_ino != before.st_ino || after.st_dev != before.st_dev) return;
  rememberExecutable(after, path);
}

}  // namespace

void rememberExecutable(const struct stat& st, const std::string& path) {
  if (path.empty()) return;
  ExeCache& c = exeCache();
  std::lock_guard<std::mutex> g(c.mu);
  if (c.by_ino.size() >= kExeCacheMax) c.by_ino.clear();
  auto& slot = c.by_ino[static_cast<uint64_t>(st.st_ino)];
  slot.first = kernelDev(st.st_dev);
  if (slot.second != path) slot.second = path;
}

void rememberExecutableFd(int fd) {
  struct stat st;
  std::string path;
  if (fstat(fd, &st) == 0 && readLink("/proc/self/fd/" + std::to_string(fd), &path))
    rememberExecutable(st, path);
}

std::string exePathOf(uint64_t kernel_dev, uint64_t ino) {
  if (ino == 0) return {};
  ExeCache& c = exeCache();
  std::lock_guard<std::mutex> g(c.mu);
  auto it = c.by_ino.find(ino);
  if (it == c.by_ino.end() || it->second.first != kernel_dev) return {};
  return it->second.second;
}

std::string exeOf(const ProcessInfo& info) {
  if (!info.exe.empty() || info.exe_ino == 0) return info.exe;
  return exePathOf(info.exe_dev, info.exe_ino);
}

long readSmallAt(int dirfd, const char* name, char* buf, size_t cap) {
  if (cap == 0) return -1;
  UniqueFd fd(openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd.valid()) return -1;
  size_t len = 0;
  while (len + 1 < cap) {
    ssize_t r = read(fd.get(), buf + len, cap - 1 - len);
    if (r < 0) {
      if (errno == EINTR) continue;
      int saved = errno;
      fd.reset();
      errno = saved;
      return -1;
    }
    if (r == 0) break;
    len += static_cast<size_t>(r);
  }
  buf[len] = '\0';
  return static_cast<long>(len);
}

uint64_t ticksToNs(uint64_t ticks) {
  static const uint64_t hz = [] {
    long v = sysconf(_SC_CLK_TCK);
    return v > 0 ? static_cast<uint64_t>(v) : 100u;
  }();
  if (1000000000ull % hz == 0) return ticks * (1000000000ull / hz);
  return ticks / hz * 1000000000ull + ticks % hz * 1000000000ull / hz;
}

uint32_t ownPidNs() {
  struct stat st;
  if (stat("/proc/self/ns/pid", &st) != 0) return 0;
  return static_cast<uint32_t>(st.st_ino);
}

namespace {

// After a failed open/read: did the task vanish, or did the read fail for another reason?
ReadResult failure() {
  return errno == ENOENT || errno == ESRCH ? ReadResult::kGone : ReadResult::kError;
}

// The task's directory: /proc/<pid>/task/<tid>, or /proc/<tid> when pid is unknown or equal.
int openTaskDir(int32_t pid, int32_t tid) {
  if (tid <= 0) {
    errno = ESRCH;
    return -1;
  }
  char path[64];
  if (pid > 0 && pid != tid) {
    snprintf(path, sizeof(path), "/proc/%d/task/%d", pid, tid);
  } else {
    snprintf(path, sizeof(path), "/proc/%d", tid);
  }
  return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

// Namespaces and cgroup: what a task can change without exec and without an event.
ReadResult readNsAndCgroup(int dirfd, ProcessInfo* out) {
  out->mnt_ns = static_cast<uint32_t>(nsInode(dirfd, "ns/mnt"));
  out->pid_ns = static_cast<uint32_t>(nsInode(dirfd, "ns/pid"));
  // Every live task, kernel threads included, has namespaces: without them it is exiting
  // (it passed exit_task_namespaces() while we read).
  if (out->mnt_ns == 0 || out->pid_ns == 0) return ReadResult::kZombie;
  out->cgroup_id = 0;
  out->container_id.clear();
  if (!readCgroup(dirfd, out)) return ReadResult::kZombie;
  return ReadResult::kOk;
}

}  // namespace

ReadResult readVolatile(int32_t pid, int32_t tid, ProcessInfo* out) {
  UniqueFd dir(openTaskDir(pid, tid));
  if (dir.get() < 0) return failure();
  return readNsAndCgroup(dir.get(), out);
}

ReadResult readTask(int32_t pid, int32_t tid, Fields fields, ProcessInfo* out) {
  UniqueFd dir(openTaskDir(pid, tid));
  if (dir.get() < 0) return failure();

  char buf[4096];
  long n = readSmallAt(dir.get(), "stat", buf, sizeof(buf));
  if (n < 0) return failure();
  if (n == 0) return ReadResult::kGone;
  TaskStat stat;
  if (!parseTaskStat(buf, static_cast<size_t>(n), &stat)) return ReadResult::kGone;
  std::string comm = std::move(stat.comm);
  const char state = stat.state;
  const uint64_t start_ticks = stat.start_ticks;
  n = readSmallAt(dir.get(), "status", buf, sizeof(buf));
  if (n < 0) return failure();
  if (n == 0) return ReadResult::kGone;
  StatusFields st;
  parseStatus(buf, n, &st);
  if (st.tgid <= 0 || (pid > 0 && st.tgid != pid) || !st.have_ids) return ReadResult::kGone;

  out->host_tid = tid;
  out->host_pid = st.tgid;
  out->comm = std::move(comm);
  out->thread_start_ns = ticksToNs(start_ticks);
  out->uid = st.uid;
  out->gid = st.gid;
  out->ns_tid = st.ns_pid;
  out->ns_pid = st.ns_tgid;
  out->exited = false;
  const bool zombie = state == 'Z' || state == 'X';
  if (fields == Fields::kThread) return zombie ? ReadResult::kZombie : ReadResult::kOk;

  out->host_ppid = st.ppid;
  // One level: the opener lives in our pid namespace, its parent too. Deeper: the table
  // resolves ns_ppid from the parent's entry.
  out->ns_ppid = st.ns_depth <= 1 ? st.ppid : 0;
  if (zombie) return ReadResult::kZombie;  // exe, ns and cgroup are gone with the mm/nsproxy
  if (fields == Fields::kForked) {
    out->mnt_ns = static_cast<uint32_t>(nsInode(dir.get(), "ns/mnt"));
    out->pid_ns = static_cast<uint32_t>(nsInode(dir.get(), "ns/pid"));
    return out->mnt_ns != 0 && out->pid_ns != 0 ? ReadResult::kOk : ReadResult::kZombie;
  }

  char exe[4097];
  struct stat exe_st;
  const bool have_exe_st = fstatat(dir.get(), "exe", &exe_st, 0) == 0;
  ssize_t len = readlinkat(dir.get(), "exe", exe, sizeof(exe) - 1);
  if (len >= 0) {
    out->exe.assign(exe, static_cast<size_t>(len));
    if (have_exe_st) rememberExe(dir.get(), exe_st, out->exe);
  } else {
    out->exe.clear();  // kernel threads have none
  }
  return readNsAndCgroup(dir.get(), out);
}

}  // namespace procfs
}  // namespace pmg
