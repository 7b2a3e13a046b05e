// The user-space half of observed access (native/ebpf/io_track.bpf.h, docs/ebpf-capture.md):
// attaches the read/write/close/exit programs, reads the io_events ring buffer and turns each
// summary into an io summary CaptureRecord (record_kind kIoSummary) whose opener, target and
// path are those of the open record it follows. At its stop, it summarizes what is still
// tracked. Used by the eBPF backend's capture thread only, except stats().
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "../backend.h"
#include "../record.h"
#include "io_event.h"

struct procmem_bpf;
struct ring_buffer;
struct bpf_link;
struct bpf_program;

namespace pmg {

class IoTracker {
 public:
  ~IoTracker() { release(); }

  // The programs a kernel may refuse to load (bpf_task_pt_regs needs Linux 5.15): the loader's
  // retry leaves them out, and tracking is then off.
  static void skipLoad(procmem_bpf* skel);
  // When `wanted` (the observeIo option), attaches the programs of the loaded `skel` and
  // creates the io_events reader; `opens` is the open events' reader. When something cannot
  // attach, warns through `sink` and stays off. Not wanted: stays off, silently.
  void start(procmem_bpf* skel, ring_buffer* opens, EventSink& sink, ProcessTable& table,
             bool wanted);
  // The io_events reader's epoll fd, or -1 when tracking is off.
  int pollFd() const;
  // Reads io_events (and first, for each sample, whatever open events are queued: a summary's
  // open was sent before it). Returns the samples read; negative errno on failure.
  int consume();
  // An open record that the kernel tracks: its summary is built from it.
  void remember(const CaptureRecord& rec);
  // Reports growth of the kernel's untracked and lost counters as loss (kIoSummaryLost).
  void checkLosses();
  // Stops tracking and summarizes every open still tracked (IoEnd::kWatcherStopped). On the
  // capture thread, at its end.
  void finish();
  // Detaches and frees; before the skeleton is destroyed. Idempotent.
  void release();
  void stats(std::map<std::string, uint64_t>* out) const;

 private:
  static int onSample(void* ctx, void* data, size_t size);
  void handle(const pmg_io_event& e);
  // Summarizes and deletes every tracked entry (the watcher stops).
  void summarizeAll(IoEnd end, uint64_t time_ns);
  void summarize(const pmg_io_key& key, const pmg_io_track& t, IoEnd end, uint64_t time_ns);
  void fromKernel(const pmg_io_key& key, const pmg_io_track& t, CaptureRecord* rec);
  void readCounters(uint64_t out[PMG_IO_COUNTERS]);

  procmem_bpf* skel_ = nullptr;
  ring_buffer* opens_ = nullptr;
  ring_buffer* rb_ = nullptr;
  EventSink* sink_ = nullptr;
  ProcessTable* table_ = nullptr;
  std::vector<bpf_link*> links_;
  std::vector<uint64_t> percpu_;
  // Open records by tgid << 32 | fd, until their summary. Bounded: beyond kMaxRemembered a
  // summary is built from the kernel's entry and the process table instead.
  std::unordered_map<uint64_t, CaptureRecord> opens_by_key_;
  std::atomic<uint64_t> on_{0}, tracked_{0}, untracked_{0}, events_lost_{0}, summaries_{0},
      unmatched_{0}, remembered_{0};
};

}  // namespace pmg
