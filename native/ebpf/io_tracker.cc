// Observed access, user-space half (io_tracker.h). Built with the eBPF backend only.
#include "io_tracker.h"

#include "ebpf_config.h"

#ifdef PMG_EBPF

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <system_error>
#include <thread>

#include "../proc/target_info.h"
#include "../util/clock.h"
#include "../util/fixed_string.h"
#include "../util/mem_path.h"
#include "../util/proc_files.h"
#include "procmem.skel.h"

namespace pmg {

namespace {

// One remembered open record (2 KiB) per possible entry of the kernel's map.
constexpr size_t kMaxRemembered = PMG_IO_MAX_TRACKED;

// The kernel's PMG_IO_* kinds are IoEnd's values: passed on as they are.
static_assert(PMG_IO_CLOSED == static_cast<unsigned>(IoEnd::kClosed), "PMG_IO_* = IoEnd");
static_assert(PMG_IO_REPLACED == static_cast<unsigned>(IoEnd::kReplaced), "PMG_IO_* = IoEnd");
static_assert(PMG_IO_EXITED == static_cast<unsigned>(IoEnd::kExited), "PMG_IO_* = IoEnd");
static_assert(PMG_IO_CLOSE_RANGE == static_cast<unsigned>(IoEnd::kCloseRange), "PMG_IO_* = IoEnd");
static_assert(PMG_IO_EXECED == static_cast<unsigned>(IoEnd::kExeced), "PMG_IO_* = IoEnd");

uint64_t keyOf(uint32_t tgid, uint32_t fd) { return static_cast<uint64_t>(tgid) << 32 | fd; }

// The read/write exit tracepoints, close, close_range, exit and exec. (tp_btf/sys_exit instead
// of the ten tracepoints was measured costlier: every syscall of the host ran it.)
std::vector<bpf_program*> ioPrograms(procmem_bpf* skel) {
  auto& p = skel->progs;
  return {p.pmg_io_read,    p.pmg_io_pread64,  p.pmg_io_readv,    p.pmg_io_preadv,
          p.pmg_io_preadv2, p.pmg_io_write,    p.pmg_io_pwrite64, p.pmg_io_writev,
          p.pmg_io_pwritev, p.pmg_io_pwritev2, p.pmg_io_close,    p.pmg_io_close_range,
          p.pmg_io_exit,    p.pmg_io_exec};
}

}  // namespace

void IoTracker::skipLoad(procmem_bpf* skel) {
  for (bpf_program* prog : ioPrograms(skel)) bpf_program__set_autoload(prog, false);
}

void IoTracker::start(procmem_bpf* skel, ring_buffer* opens, EventSink& sink, ProcessTable& table,
                      bool wanted) {
  release();
  skel_ = skel;
  opens_ = opens;
  sink_ = &sink;
  table_ = &table;
  opens_by_key_.clear();
  remembered_ = 0;
  int cpus = libbpf_num_possible_cpus();
  percpu_.assign(cpus > 0 ? static_cast<size_t>(cpus) : 1, 0);
  tracked_ = untracked_ = events_lost_ = 0;  // the maps are new with each load
  // Not asked for (observeIo false, the default): no read/write program is attached, so the
  // host's reads and writes pay nothing.
  if (!wanted) return;
  std::string why;
  for (bpf_program* prog : ioPrograms(skel)) {
    if (bpf_program__fd(prog) < 0) {
      why = std::string("its programs did not load (") + bpf_program__name(prog) + ")";
      break;
    }
    bpf_link* link = bpf_program__attach(prog);
    if (!link) {
      why = std::string("cannot attach ") + bpf_program__name(prog) + ": " + std::strerror(errno);
      break;
    }
    links_.push_back(link);
  }
  if (why.empty()) {
    rb_ = ring_buffer__new(bpf_map__fd(skel->maps.io_events), &IoTracker::onSample, this, nullptr);
    if (!rb_) why = std::string("cannot read io_events: ") + std::strerror(errno);
  }
  if (!why.empty()) {
    std::string msg = "eBPF backend: proc_mem_io summaries are off: " + why;
    release();
    sink.warn(msg.c_str());
    return;
  }
  skel->bss->io_tracking_on = 1;
  on_ = 1;
}

int IoTracker::pollFd() const { return rb_ ? ring_buffer__epoll_fd(rb_) : -1; }

int IoTracker::consume() { return rb_ ? ring_buffer__consume(rb_) : 0; }

void IoTracker::remember(const CaptureRecord& rec) {
  if (!on_) return;
  uint64_t key =
      keyOf(static_cast<uint32_t>(rec.host_pid), static_cast<uint32_t>(rec.return_value));
  auto it = opens_by_key_.find(key);
  if (it != opens_by_key_.end()) {
    it->second = rec;  // an fd reused: the kernel summarized the old entry (PMG_IO_REPLACED)
  } else if (opens_by_key_.size() < kMaxRemembered) {
    opens_by_key_.emplace(key, rec);
  }
  remembered_ = opens_by_key_.size();
}

int IoTracker::onSample(void* ctx, void* data, size_t size) {
  auto* self = static_cast<IoTracker*>(ctx);
  if (size < sizeof(pmg_io_event)) {
    self->sink_->lost(LossCause::kUnreadableEvent, 1);
    return 0;
  }
  // The open this sample follows was sent before it: read what is queued of the open events
  // first, so that its record is remembered. An error of the open ring is reported by the next
  // poll round; the summary falls back meanwhile.
  (void)ring_buffer__consume(self->opens_);
  pmg_io_event e;
  std::memcpy(&e, data, sizeof(e));
  self->handle(e);
  return 0;
}

void IoTracker::handle(const pmg_io_event& e) {
  if (e.kind < PMG_IO_CLOSED || e.kind > PMG_IO_EXECED) {
    sink_->lost(LossCause::kUnreadableEvent, 1);
    return;
  }
  summarize(e.key, e.track, static_cast<IoEnd>(e.kind), e.time_ns);
}

void IoTracker::summarizeAll(IoEnd end, uint64_t time_ns) {
  int fd = bpf_map__fd(skel_->maps.tracked);
  // Keys first: deleting while walking with get_next_key may restart or skip the walk.
  std::vector<pmg_io_key> keys;
  pmg_io_key key{}, next{};
  const void* prev = nullptr;
  while (keys.size() < 2 * kMaxRemembered && bpf_map_get_next_key(fd, prev, &next) == 0) {
    keys.push_back(next);
    key = next;
    prev = &key;
  }
  for (const pmg_io_key& k : keys) {
    pmg_io_track v;
    if (bpf_map_lookup_elem(fd, &k, &v) != 0) continue;
    // Whoever deletes the entry reports it: the kernel may have summarized it meanwhile.
    if (bpf_map_delete_elem(fd, &k) != 0) continue;
    __atomic_fetch_sub(&skel_->bss->io_tgid_slots[k.tgid % PMG_IO_TGID_SLOTS], 1, __ATOMIC_SEQ_CST);
    __atomic_fetch_sub(&skel_->bss->io_tracked_count, 1, __ATOMIC_SEQ_CST);
    summarize(k, v, end, time_ns);
  }
}

void IoTracker::summarize(const pmg_io_key& key, const pmg_io_track& t, IoEnd end,
                          uint64_t time_ns) {
  CaptureRecord rec;
  // Realtime of the end: on the open record's realtime-to-monotonic offset when there is one,
  // so that the event's timestamp minus its open's is exactly the duration.
  uint64_t realtime_offset;
  auto it = opens_by_key_.find(keyOf(key.tgid, key.fd));
  if (it != opens_by_key_.end() && it->second.monotonic_ns == t.open_ns) {
    rec = it->second;
    opens_by_key_.erase(it);
    remembered_ = opens_by_key_.size();
    realtime_offset = rec.timestamp_ns - rec.monotonic_ns;
  } else {
    // Not remembered (its open was folded, or too many were remembered).
    unmatched_++;
    fromKernel(key, t, &rec);
    realtime_offset = realtimeNs() - monotonicNs();
  }
  rec.record_kind = static_cast<uint8_t>(RecordKind::kIoSummary);
  rec.io_end = static_cast<uint8_t>(end);
  rec.io_fd = key.fd;
  rec.io_reads = t.counts.reads;
  rec.io_writes = t.counts.writes;
  rec.io_bytes_read = t.counts.bytes_read;
  rec.io_bytes_written = t.counts.bytes_written;
  rec.io_open_monotonic_ns = t.open_ns;
  rec.monotonic_ns = time_ns;
  rec.timestamp_ns = time_ns + realtime_offset;
  if (sink_->push(rec)) summaries_++;
}

// A summary without its open record: the opener from the process table (which keeps an exited
// process for a while), the target and path from the kernel's entry.
void IoTracker::fromKernel(const pmg_io_key& key, const pmg_io_track& t, CaptureRecord* rec) {
  *rec = CaptureRecord{};
  rec->size = kRecordSize;
  rec->version = kRecordVersion;
  rec->backend = static_cast<uint8_t>(BackendId::kEbpf);
  rec->flags_source = static_cast<uint8_t>(FlagsSource::kUnknown);
  table_->attribute(static_cast<int32_t>(key.tgid), static_cast<int32_t>(t.tid), rec);
  rec->host_pid = static_cast<int32_t>(key.tgid);
  rec->host_tid = static_cast<int32_t>(t.tid);
  rec->target_pid = t.target_pid;
  rec->target_tid = t.target_tid;
  rec->return_value = static_cast<int32_t>(key.fd);
  rec->record_flags |= kProcfsMem;
  const bool thread = t.target_tid != t.target_pid;
  if (thread) rec->record_flags |= kThreadMem;
  const std::string path = memPathUnder("/proc", t.target_pid, thread ? t.target_tid : 0);
  copyFixed(rec->pathname, path);
  copyFixed(rec->syscall_pathname, path);
  if (t.target_pid == static_cast<int32_t>(key.tgid)) rec->record_flags |= kSelfTarget;
  enrichTarget(*table_, rec);
}

void IoTracker::readCounters(uint64_t out[PMG_IO_COUNTERS]) {
  for (uint32_t slot = 0; slot < PMG_IO_COUNTERS; slot++) {
    out[slot] = 0;
    if (bpf_map_lookup_elem(bpf_map__fd(skel_->maps.io_counters), &slot, percpu_.data()) != 0)
      continue;
    for (uint64_t v : percpu_) out[slot] += v;
  }
}

void IoTracker::checkLosses() {
  if (!on_) return;
  uint64_t now[PMG_IO_COUNTERS];
  readCounters(now);
  tracked_ = now[PMG_IO_COUNT_TRACKED];
  const uint64_t untracked = now[PMG_IO_COUNT_UNTRACKED], lost_events = now[PMG_IO_COUNT_LOST];
  uint64_t lost = (untracked - untracked_.exchange(untracked)) +
                  (lost_events - events_lost_.exchange(lost_events));
  if (lost > 0) sink_->lost(LossCause::kIoSummaryLost, lost);
}

void IoTracker::finish() {
  if (!on_) return;
  skel_->bss->io_tracking_on = 0;
  consume();
  summarizeAll(IoEnd::kWatcherStopped, monotonicNs());
  checkLosses();
  opens_by_key_.clear();
  remembered_ = 0;
}

void IoTracker::release() {
  if (rb_) ring_buffer__free(rb_);
  rb_ = nullptr;
  // Each syscall tracepoint's detach waits for RCU grace periods in the kernel (about 80 ms
  // here): one after the other, twelve made stop() take a second. Detached from several
  // threads at once, the waits overlap.
  std::vector<std::thread> detachers;
  for (bpf_link* link : links_) {
    try {
      detachers.emplace_back([link] { bpf_link__destroy(link); });
    } catch (const std::system_error&) {
      bpf_link__destroy(link);  // no thread: detach here
    }
  }
  for (std::thread& t : detachers) t.join();
  links_.clear();
  on_ = 0;
  skel_ = nullptr;
}

void IoTracker::stats(std::map<std::string, uint64_t>* out) const {
  (*out)["io_tracking"] = on_.load();
  (*out)["io_tracked"] = tracked_.load();
  (*out)["io_untracked"] = untracked_.load();
  (*out)["io_events_lost"] = events_lost_.load();
  (*out)["io_summaries"] = summaries_.load();
  (*out)["io_unmatched"] = unmatched_.load();
  (*out)["io_remembered"] = remembered_.load();
}

}  // namespace pmg

#endif  // PMG_EBPF
