// The eBPF backend's user-space half: loads the BPF object embedded by the skeleton
// (build/ebpf/procmem.skel.h, made by scripts/ebpf-build.mjs), attaches its programs, and
// turns ring buffer samples into CaptureRecords. Built only when the build found clang,
// bpftool and the static libbpf/libelf/zlib (PMG_EBPF in build/ebpf/ebpf_config.h);
// otherwise this file defines only ebpfMissingReason(). Design: docs/ebpf-capture.md.
#include "ebpf_backend.h"

#include "ebpf_config.h"

#ifndef PMG_EBPF

namespace pmg {
const char* ebpfMissingReason() { return PMG_EBPF_MISSING; }
}  // namespace pmg

#else

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "../fanotify/exec_marks.h"
#include "../proc/procfs.h"
#include "../proc/target_info.h"
#include "../record.h"
#include "../util/clock.h"
#include "../util/fd_flags.h"
#include "../util/fixed_string.h"
#include "../util/flood_guard.h"
#include "../util/proc_files.h"
#include "../util/unique_fd.h"
#include "ebpf_event.h"
#include "guard_loader.h"
#include "io_tracker.h"
#include "procmem.skel.h"

namespace pmg {

const char* ebpfMissingReason() { return ""; }

namespace {

constexpr int kPollMs = 500;

// libbpf's diagnostics go to one buffer (the last load's), not to stderr: the loader turns
// them into the CaptureError message. libbpf_set_print is process-wide.
std::mutex g_log_mutex;
std::string g_log;

int libbpfPrint(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  char line[512];
  int n = vsnprintf(line, sizeof(line), fmt, args);
  std::lock_guard<std::mutex> lock(g_log_mutex);
  if (g_log.size() < 16384) g_log += line;
  return n;
}

std::string takeLog() {
  std::lock_guard<std::mutex> lock(g_log_mutex);
  std::string out;
  out.swap(g_log);
  // Keep the last lines: they say why the load failed.
  if (out.size() > 600) out = "..." + out.substr(out.size() - 600);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

[[noreturn]] void fail(int err, const std::string& what) {
  std::string log = takeLog();
  std::string msg = "eBPF backend: " + what + ": " + std::strerror(err);
  if (err == EPERM || err == EACCES)
    msg += " (loading BPF programs needs root with CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN)";
  if (!log.empty()) msg += "; libbpf: " + log;
  throw CaptureError{
      err == EPERM || err == EACCES ? ErrorCode::kEpermCapture : ErrorCode::kEbpfUnavailable, msg};
}

// The path of fd `fd` of `pid` as that process sees it, if it still refers to dev/ino.
bool pathOfFd(int32_t pid, uint32_t fd, uint64_t dev, uint64_t ino, std::string* out) {
  if (fd > INT32_MAX) return false;
  const int n = static_cast<int>(fd);
  // stat again after readlink: the fd may have been closed and reused between the two.
  return fdIsFile(pid, n, dev, ino) && readLink(fdLinkPath(pid, n), out) &&
         fdIsFile(pid, n, dev, ino);
}

class EbpfBackend : public Backend {
 public:
  ~EbpfBackend() override { stop(); }
  const char* name() const override { return "ebpf"; }

  void start(EventSink& sink, ProcessTable& table) override {
    stop();
    sink_ = &sink;
    table_ = &table;
    libbpf_set_print(libbpfPrint);
    takeLog();
    try {
      load();
    } catch (...) {
      release();
      throw;
    }
    thread_ = std::thread(&EbpfBackend::run, this);
  }

  void stop() override {
    if (thread_.joinable()) {
      uint64_t one = 1;
      // The eventfd is non-blocking and cannot be full here; the loop also checks stopping_.
      stopping_ = true;
      if (write(stop_fd_.get(), &one, sizeof(one)) < 0) {
        // Nothing else to do: the loop wakes within kPollMs and sees stopping_.
      }
      thread_.join();
    }
    release();
  }

  std::map<std::string, uint64_t> stats() const override {
    std::map<std::string, uint64_t> out = {
        {"events_read", samples_.load()},
        {"emitted", emitted_.load()},
        {"kernel_drops", kernel_drops_.load()},
        {"io_uring_events", io_uring_events_.load()},
        {"path_from_fd", path_from_fd_.load()},
        {"path_from_kernel", path_from_kernel_.load()},
        {"attach_sys_exit", attach_sys_exit_.load()},
        {"attach_syscall_tracepoints", attach_tracepoints_.load()},
        {"attach_io_uring_complete", attach_io_uring_.load()},
        {"folded", flood_.folded()},
        {"exec_filesystems", exec_filesystems_.load()},
        {"exec_events", exec_events_.load()},
    };
    guard_.addStats(skel_ ? skel_->maps.guard_counts : nullptr, &out);
    io_.stats(&out);
    return out;
  }

  void setObserveIo(bool on) override { observe_io_ = on; }

  void setGuard(const GuardConfig& config) override {
    if (skel_)
      guard_.configure(config, skel_->maps.guard_tables, skel_->maps.guard_state);
    else
      guard_.configure(config, nullptr, nullptr);
  }

 private:
  void load() {
    guard_.checkKernel();  // before anything is loaded: refuse --enforce clearly
    skel_ = procmem_bpf__open();
    if (!skel_) fail(errno, "cannot open the embedded BPF object");
    skel_->rodata->self_tgid = static_cast<uint32_t>(getpid());
    skel_->rodata->guard_mode = guard_.mode();
    if (!observe_io_) IoTracker::skipLoad(skel_);  // nothing to verify that is never attached
    int err = procmem_bpf__load(skel_);
    bool io_uring = true;
    if (err != 0) {
      // The io_uring program relocates against io_uring's internal structures, which a kernel
      // may lay out differently or lack: retry with the syscall program alone.
      procmem_bpf__destroy(skel_);
      skel_ = procmem_bpf__open();
      if (!skel_) fail(errno, "cannot open the embedded BPF object");
      skel_->rodata->self_tgid = static_cast<uint32_t>(getpid());
      skel_->rodata->guard_mode = guard_.mode();
      bpf_program__set_autoload(skel_->progs.pmg_io_uring_complete, false);
      IoTracker::skipLoad(skel_);
      io_uring = false;
      err = procmem_bpf__load(skel_);
      if (err != 0) fail(-err, "cannot load the BPF programs");
      takeLog();
    }
    // The exception table is in place before the first program is attached.
    guard_.loaded(skel_->maps.guard_tables, skel_->maps.guard_state);
    // Per-syscall tracepoints first (the host's other syscalls run no BPF), tp_btf/sys_exit
    // (every syscall exit runs the program's number test) where they do not attach: libbpf
    // finds tracepoints through tracefs, which may not be mounted.
    bpf_program* per_syscall[] = {skel_->progs.pmg_exit_openat, skel_->progs.pmg_exit_open,
                                  skel_->progs.pmg_exit_openat2};
    size_t attached = 0;
    if (getenv("PMG_EBPF_NO_TRACEPOINTS") == nullptr) {
      for (bpf_program* prog : per_syscall) {
        bpf_link* link = bpf_program__attach(prog);
        if (!link) break;
        syscall_links_[attached++] = link;
      }
    }
    if (attached == 3) {
      attach_tracepoints_ = 1;
    } else {
      for (size_t i = 0; i < attached; i++) bpf_link__destroy(syscall_links_[i]);
      syscall_links_[0] = syscall_links_[1] = syscall_links_[2] = nullptr;
      takeLog();
      sys_exit_link_ = bpf_program__attach(skel_->progs.pmg_sys_exit);
      if (!sys_exit_link_) fail(errno, "cannot attach to tp_btf/sys_exit");
      attach_sys_exit_ = 1;
    }
    if (io_uring) {
      io_uring_link_ = bpf_program__attach(skel_->progs.pmg_io_uring_complete);
      if (io_uring_link_) {
        attach_io_uring_ = 1;
      } else {
        std::string msg =
            "eBPF backend: io_uring opens are not covered: cannot attach to "
            "tp_btf/io_uring_complete: " +
            std::string(std::strerror(errno));
        takeLog();
        sink_->warn(msg.c_str());
      }
    }
    rb_ = ring_buffer__new(bpf_map__fd(skel_->maps.events), &EbpfBackend::onSample, this, nullptr);
    if (!rb_) fail(errno, "cannot create the ring buffer reader");
    io_.start(skel_, rb_, *sink_, *table_, observe_io_);
    stop_fd_.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!stop_fd_.valid()) fail(errno, "cannot create an eventfd");
    int cpus = libbpf_num_possible_cpus();
    if (cpus <= 0) fail(-cpus, "cannot count the possible CPUs");
    drops_.assign(static_cast<size_t>(cpus), 0);
    kernel_drops_ = 0;  // the drops map is new with each load
    openExecMarks();
    stopping_ = false;
  }

  // The exe of an opener that exec'd, opened a mem file and exited within a millisecond comes
  // from its TASKSTATS exit record's (dev, inode) through the process table's exe cache; the
  // cache learns every binary exec'd after start from FAN_OPEN_EXEC marks, read before each
  // batch of samples (the exec was queued before the open). As in the fanotify backend
  // (fanotify/exec_marks.h). Best effort: without CAP_SYS_ADMIN there is no fanotify group,
  // and such an opener's exe may be empty (exec_filesystems 0 in stats).
  void openExecMarks() {
    exec_group_.reset(fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK,
                                    O_RDONLY | O_LARGEFILE | O_CLOEXEC));
    exec_filesystems_ = 0;
    if (!exec_group_.valid()) return;
    std::string failed;
    exec_filesystems_ = static_cast<uint64_t>(markExecFilesystems(exec_group_.get(), &failed));
    if (exec_filesystems_ == 0) exec_group_.reset();
  }

  // Names every binary exec'd since the last call (see openExecMarks).
  void drainExecMarks() {
    if (!exec_group_.valid()) return;
    alignas(fanotify_event_metadata) char buf[8192];
    for (;;) {
      ssize_t n = read(exec_group_.get(), buf, sizeof buf);
      if (n <= 0) return;  // EAGAIN: drained; any other error: the next batch tries again
      auto* ev = reinterpret_cast<const fanotify_event_metadata*>(buf);
      for (; FAN_EVENT_OK(ev, n); ev = FAN_EVENT_NEXT(ev, n)) {
        if (ev->fd < 0) continue;
        UniqueFd fd(ev->fd);
        procfs::rememberExecutableFd(fd.get());
        exec_events_++;
      }
    }
  }

  void release() {
    io_.release();
    if (rb_) ring_buffer__free(rb_);
    rb_ = nullptr;
    if (io_uring_link_) bpf_link__destroy(io_uring_link_);
    io_uring_link_ = nullptr;
    if (sys_exit_link_) bpf_link__destroy(sys_exit_link_);
    sys_exit_link_ = nullptr;
    for (bpf_link*& link : syscall_links_) {
      if (link) bpf_link__destroy(link);
      link = nullptr;
    }
    if (skel_) {
      guard_.refresh(skel_->maps.guard_counts);  // the kills of this load stay counted
      procmem_bpf__destroy(skel_);
    }
    skel_ = nullptr;
    stop_fd_.reset();
    exec_group_.reset();
    attach_sys_exit_ = 0;
    attach_tracepoints_ = 0;
    attach_io_uring_ = 0;
  }

  void run() {
    pthread_setname_np(pthread_self(), "pmg-ebpf");  // best effort; shows in task/*/comm
    // The exec marks are read as they come too, so that their queue never fills on a host
    // that execs much and opens no mem file.
    // The io summaries' ring buffer (io_tracker.h) is polled too; -1 (tracking off) is ignored.
    struct pollfd fds[4] = {{ring_buffer__epoll_fd(rb_), POLLIN, 0},
                            {stop_fd_.get(), POLLIN, 0},
                            {io_.pollFd(), POLLIN, 0},
                            {exec_group_.get(), POLLIN, 0}};
    while (!stopping_) {
      int ready = poll(fds, exec_group_.valid() ? 4 : 3, kPollMs);
      if (ready < 0 && errno != EINTR) {
        std::string msg = std::string("eBPF backend: poll: ") + std::strerror(errno);
        sink_->warn(msg.c_str());
        break;
      }
      if (stopping_) break;
      drainExecMarks();
      int n = ring_buffer__consume(rb_);
      if (n < 0 && n != -EINTR) {
        sink_->lost(LossCause::kUnreadableEvent, 1);
        std::string msg = std::string("eBPF backend: ring buffer: ") + std::strerror(-n);
        sink_->warn(msg.c_str());
      }
      int io = io_.consume();
      if (io < 0 && io != -EINTR) {
        sink_->lost(LossCause::kUnreadableEvent, 1);
        std::string msg = std::string("eBPF backend: io ring buffer: ") + std::strerror(-io);
        sink_->warn(msg.c_str());
      }
      checkDrops();
      if (n > 0 || io > 0) sink_->flush();
    }
    // Whatever the kernel queued before stop() is still delivered; opens still tracked are
    // summarized with the counts so far.
    ring_buffer__consume(rb_);
    io_.finish();
    checkDrops();
    sink_->flush();
  }

  // Reports growth of the kernel-side drop counter (bpf_ringbuf_reserve failures) as loss,
  // and kills the kernel refused (guard mode) as a warning.
  void checkDrops() {
    if (uint64_t refused = guard_.newKillFailures(skel_->maps.guard_counts)) {
      std::string msg = "eBPF backend: guard mode: the kernel refused " + std::to_string(refused) +
                        " kill(s) (bpf_send_signal); those openers were not stopped";
      sink_->warn(msg.c_str());
    }
    io_.checkLosses();
    uint32_t key = 0;
    if (bpf_map_lookup_elem(bpf_map__fd(skel_->maps.drops), &key, drops_.data()) != 0) return;
    uint64_t total = 0;
    for (uint64_t v : drops_) total += v;
    uint64_t before = kernel_drops_.exchange(total);
    if (total > before) {
      sink_->lost(LossCause::kBpfRingFull, total - before);
      sink_->flush();
    }
  }

  static int onSample(void* ctx, void* data, size_t size) {
    auto* self = static_cast<EbpfBackend*>(ctx);
    if (size < sizeof(pmg_bpf_event)) {
      self->sink_->lost(LossCause::kUnreadableEvent, 1);
      return 0;
    }
    pmg_bpf_event e;
    std::memcpy(&e, data, sizeof(e));
    self->handle(e);
    return 0;
  }

  void handle(const pmg_bpf_event& e) {
    samples_++;
    if (!flood_.admitOrFold(e.uid, e.timestamp_ns, *sink_)) return;  // a flood by this uid
    if (e.flags & PMG_BPF_IO_URING) io_uring_events_++;
    CaptureRecord rec{};
    rec.size = kRecordSize;
    rec.version = kRecordVersion;
    rec.backend = static_cast<uint8_t>(BackendId::kEbpf);
    rec.flags_source = static_cast<uint8_t>(FlagsSource::kKernel);
    // Executable, container id, pids in the opener's namespace: the process table (which
    // still knows an opener that exited at once). Everything the kernel said wins over it.
    table_->attribute(static_cast<int32_t>(e.host_pid), static_cast<int32_t>(e.host_tid), &rec);
    rec.monotonic_ns = e.timestamp_ns;
    rec.timestamp_ns = e.timestamp_ns + (realtimeNs() - monotonicNs());
    rec.host_pid = static_cast<int32_t>(e.host_pid);
    rec.host_tid = static_cast<int32_t>(e.host_tid);
    rec.host_ppid = static_cast<int32_t>(e.host_ppid);
    rec.ns_tid = static_cast<int32_t>(e.ns_tid);
    rec.uid = e.uid;
    rec.gid = e.gid;
    rec.mnt_ns = e.mnt_ns;
    rec.pid_ns = e.pid_ns;
    rec.cgroup_id = e.cgroup_id;
    rec.thread_start_ns = e.thread_start_ns;
    std::memcpy(rec.comm, e.comm, sizeof(rec.comm));
    rec.comm[sizeof(rec.comm) - 1] = '\0';
    rec.target_pid = e.target_pid;
    rec.target_tid = e.target_tid;
    rec.open_flags = static_cast<int32_t>(e.f_flags);
    rec.dev = makedev(e.s_dev >> 20, e.s_dev & 0xfffff);
    rec.inode = e.inode;
    rec.ctime_ns = e.ctime_ns;
    rec.return_value = static_cast<int32_t>(e.fd);
    rec.syscall_nr = e.syscall_nr;
    rec.processor_id = e.cpu;
    rec.record_flags |= kProcfsMem;
    if (e.flags & PMG_BPF_THREAD_MEM) rec.record_flags |= kThreadMem;
    if (e.flags & PMG_BPF_IO_URING) rec.record_flags |= kIoUring;
    if (e.target_pid == static_cast<int32_t>(e.host_pid)) rec.record_flags |= kSelfTarget;
    if (e.flags & PMG_BPF_KILLED)
      rec.guard_action = static_cast<uint8_t>(GuardAction::kKilled);
    else if (e.flags & PMG_BPF_WOULD_KILL)
      rec.guard_action = static_cast<uint8_t>(GuardAction::kWouldKill);

    std::string path;
    if (pathOfFd(rec.host_pid, e.fd, rec.dev, e.inode, &path)) {
      path_from_fd_++;
    } else {
      // The opener closed the fd (or exited) before we looked: rebuild the path inside its
      // procfs from the kernel's dentry names, under /proc (the mount point is not known).
      path_from_kernel_++;
      path = "/proc/" + std::string(e.pid_name, strnlen(e.pid_name, sizeof(e.pid_name)));
      if (e.flags & PMG_BPF_THREAD_MEM)
        path += "/task/" + std::string(e.tid_name, strnlen(e.tid_name, sizeof(e.tid_name)));
      path += "/mem";
    }
    if (!copyFixed(rec.pathname, path)) rec.record_flags |= kPathTruncated;
    copyFixed(rec.syscall_pathname, path);
    enrichTarget(*table_, &rec);
    if (sink_->push(rec)) emitted_++;
    io_.remember(rec);  // the kernel tracks what the opener does with it (io_track.bpf.h)
  }

  EventSink* sink_ = nullptr;
  ProcessTable* table_ = nullptr;
  procmem_bpf* skel_ = nullptr;
  bpf_link* sys_exit_link_ = nullptr;
  bpf_link* syscall_links_[3] = {nullptr, nullptr, nullptr};
  bpf_link* io_uring_link_ = nullptr;
  ring_buffer* rb_ = nullptr;
  GuardLoader guard_;        // guard mode's settings and counters (guard_loader.h)
  FloodGuard flood_;         // used by the capture thread only
  IoTracker io_;             // observed access: tracked opens and their summaries (io_tracker.h)
  bool observe_io_ = false;  // setObserveIo(), before start()
  UniqueFd exec_group_;      // FAN_OPEN_EXEC marks (openExecMarks)
  std::atomic<uint64_t> exec_filesystems_{0}, exec_events_{0};
  UniqueFd stop_fd_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::vector<uint64_t> drops_;
  std::atomic<uint64_t> samples_{0}, emitted_{0}, kernel_drops_{0}, io_uring_events_{0},
      path_from_fd_{0}, path_from_kernel_{0}, attach_sys_exit_{0}, attach_tracepoints_{0},
      attach_io_uring_{0};
};

}  // namespace

std::unique_ptr<Backend> makeEbpfBackend() { return std::make_unique<EbpfBackend>(); }

}  // namespace pmg

#endif  // PMG_EBPF
