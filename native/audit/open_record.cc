// An assembled open event -> the path it names (resolved against the opener's cwd or dirfd)
// -> whether it is a procfs mem file -> a CaptureRecord with the opener, the target and the
// open flags (from the syscall's arguments, else from the opener's fdinfo).
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "../proc/target_info.h"
#include "../util/clock.h"
#include "../util/fd_flags.h"
#include "../util/fixed_string.h"
#include "../util/mem_path.h"
#include "../util/proc_files.h"
#include "audit_backend_impl.h"
#include "syscalls.h"

namespace pmg::audit {

namespace {

constexpr int kAtFdcwd = -100;

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

// The opener's fd on the file it opened (by device and inode), or -1: the fd the open returned
// if it is still that file; io_uring reports no fd, so any fd of the opener on that inode.
int openedFd(const AuditEvent& ev, const PathItem& p, bool uring) {
  if (uring) return findFdOnFile(ev.pid, p.dev, p.inode);
  const int fd = ev.exit >= 0 && ev.exit <= INT32_MAX ? static_cast<int>(ev.exit) : -1;
  return fdIsFile(ev.pid, fd, p.dev, p.inode) ? fd : -1;
}

}  // namespace

void AuditBackend::emit(const AuditEvent& ev) {
  events_++;
  const SyscallId* sc = findSyscall(ev.arch, ev.syscall);
  const PathItem* p = openedPath(ev);
  if (!sc || sc->call == Call::kMount || !ev.success || !p || !p->has_name || p->name.empty()) {
    filtered_++;
    return;
  }
  if (ev.key != kAuditRuleKey) foreign_key_++;
  const bool uring = sc->arch == kArchUring;
  // Name as passed -> absolute path as the opener sees it.
  std::string base;
  if (p->name.front() != '/') {
    int32_t dirfd = static_cast<int32_t>(ev.args[0]);
    // io_uring: the directory fd of the SQE is not in the record; assume the CWD.
    if (sc->call == Call::kOpen || uring || dirfd == kAtFdcwd) {
      base = ev.cwd;
    } else if (!readLink(fdLinkPath(ev.pid, dirfd), &base)) {
      base.clear();
    }
  }
  std::string resolved = base.empty() && p->name.front() != '/' ? p->name : joinPath(base, p->name);
  MemPath m;
  bool parsed = parseMemPath(resolved, SelfNames::kAccept, &m);
  // Our rules match procfs devices only, but a record can also come from another rule that
  // matched first (foreign key): the device decides.
  bool known_procfs = rule_devs_.count(p->dev) > 0;
  bool unnamed = false;  // a mem file by its mode, whose name could not be learnt
  if (known_procfs && !parsed && baseName(p->name) != "mem") {
    // docs/audit-backend.md, "Names that are not mem paths": the name may reach a mem file
    // through a symlink. Identify the file itself: its fd link gives the name the kernel resolved.
    std::string opened;
    const int fd = openedFd(ev, *p, uring);
    if (fd >= 0 && readLink(fdLinkPath(ev.pid, fd), &opened) &&
        parseMemPath(opened, SelfNames::kReject, &m)) {
      resolved = opened;
      parsed = true;
      named_by_inode_++;
    } else if (p->mode == (S_IFREG | 0600)) {
      // The opener no longer holds it. Under /proc/<pid>/ only mem has this mode (a few
      // sysctls under /proc/sys do too): reported, with the path and target unknown.
      resolved.clear();
      m = MemPath{};
      unnamed = true;
      unnamed_mem_++;
    }
  }
  bool procfs_mem = known_procfs
                        ? (parsed || unnamed || baseName(p->name) == "mem")
                        : (parsed && major(p->dev) == 0 && p->mode == (S_IFREG | 0600));  // unknown
  if (!procfs_mem) {
    filtered_++;
    return;
  }

  CaptureRecord rec{};
  rec.size = kRecordSize;
  rec.version = kRecordVersion;
  rec.backend = static_cast<uint8_t>(BackendId::kAudit);
  rec.timestamp_ns = realtimeNs();
  rec.monotonic_ns = monotonicNs();
  // The uid is the SYSCALL record's: a folded open costs no process-table look-up.
  if (!flood_.admitOrFold(ev.uid, rec.monotonic_ns, *sink_)) return;  // a flood by this uid
  table_->attribute(ev.pid, ev.pid, &rec);
  // The SYSCALL record is exact at the moment of the open: it wins over the table.
  rec.host_pid = ev.pid;
  if (rec.host_tid == 0) rec.host_tid = ev.pid;  // audit does not report the thread id
  rec.host_ppid = ev.ppid;
  rec.uid = ev.uid;
  rec.gid = ev.gid;
  uint32_t flags = rec.record_flags & ~static_cast<uint32_t>(kAttributionMissing);
  if (!ev.comm.empty() && !copyFixed(rec.comm, ev.comm)) flags |= kPathTruncated;
  if (!ev.exe.empty() && !copyFixed(rec.exe, ev.exe)) flags |= kPathTruncated;
  if (rec.ns_pid == 0) rec.ns_pid = rec.host_pid;
  if (rec.ns_tid == 0) rec.ns_tid = rec.host_tid;
  if (rec.ns_ppid == 0) rec.ns_ppid = rec.host_ppid;

  flags |= kProcfsMem;
  if (unnamed) flags |= kFileUnknown;
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
  // no arguments at all: their flags come from fdinfo of the opener's fd on the file (looked
  // for again, not reused from the name look-up: by now the fd may be another file's).
  Call how = uring ? Call::kOpenat2 : sc->call;
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
      if (int fd = openedFd(ev, *p, uring); fd >= 0 && readFdFlags(ev.pid, fd, &rec.open_flags)) {
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
  if (!copyFixed(rec.pathname, resolved)) flags |= kPathTruncated;
  if (!copyFixed(rec.syscall_pathname, p->name)) flags |= kPathTruncated;
  rec.record_flags = flags;
  enrichTarget(*table_, &rec);
  sink_->push(rec);
  emitted_++;
  pushed_in_batch_++;
}

}  // namespace pmg::audit
