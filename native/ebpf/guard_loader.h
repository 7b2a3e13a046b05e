// The user-space half of guard mode in the eBPF backend (README "Guard mode"): keeps the
// settings given by setGuard(), refuses a mode the kernel cannot carry out, writes the compact
// exception table into the BPF maps (guard.bpf.h) and reads the kill counters back.
// Only compiled into a build with the eBPF backend (PMG_EBPF).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "../capture_error.h"
#include "../guard_config.h"

struct bpf_map;

namespace pmg {

// Why guard mode cannot kill on this kernel, "" when it can: the kernel must offer
// bpf_send_signal to tracepoint programs (libbpf loads a probe program each call). The one
// check behind checkKernel() and probe()'s ebpf.guard (native/probe_report.cc, doctor).
// In a build without the eBPF backend it names that.
std::string guardKernelMissing();

class GuardLoader {
 public:
  // The mode the next load uses (PMG_GUARD_*).
  unsigned mode() const;
  // Throws CaptureError ENFORCE_UNAVAILABLE when the mode needs bpf_send_signal and the
  // kernel does not offer it to tracepoint programs.
  void checkKernel() const;
  // New settings. `tables`/`state` are the loaded maps, or null when nothing is loaded: then
  // the settings wait for loaded(). A running capture keeps its mode (the BPF program's
  // read-only data): only the table and killSelf change.
  void configure(const GuardConfig& config, bpf_map* tables, bpf_map* state);
  // After a load, before any program is attached: writes the table and starts new counts.
  void loaded(bpf_map* tables, bpf_map* state);
  // Folds the counters of the loaded guard_counts map into the totals (thread-safe).
  void refresh(const bpf_map* counts) const;
  // Kills the kernel refused since the last call (refreshes first): for a warning.
  uint64_t newKillFailures(const bpf_map* counts);
  // guard_mode, guard_exceptions, guard_killed, guard_would_kill, guard_kill_failures.
  void addStats(const bpf_map* counts, std::map<std::string, uint64_t>* out) const;

 private:
  void write(bpf_map* tables, bpf_map* state);

  mutable std::mutex mutex_;  // config_, index_, loaded_mode_
  GuardConfig config_;
  uint32_t index_ = 0;  // the table the BPF side reads
  unsigned loaded_mode_ = PMG_GUARD_OFF;
  // Totals of earlier loads, and of the current one (each load has new maps).
  uint64_t base_[PMG_GUARD_COUNTS] = {0, 0, 0};
  mutable std::atomic<uint64_t> current_[PMG_GUARD_COUNTS] = {{0}, {0}, {0}};
  uint64_t warned_failures_ = 0;  // capture thread only
};

}  // namespace pmg
