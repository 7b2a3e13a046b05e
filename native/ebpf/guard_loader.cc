#include "ebpf_config.h"

#ifdef PMG_EBPF

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "guard_loader.h"

namespace pmg {

unsigned GuardLoader::mode() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return config_.mode;
}

std::string guardKernelMissing() {
  // The syscall exit tracepoints are where the kill is sent (tp_btf programs, the fallback,
  // get the same helper set from the kernel's tracing function protos).
  int ok = libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT, BPF_FUNC_send_signal, nullptr);
  if (ok == 1) return "";
  return ok == 0 ? "the kernel does not offer bpf_send_signal to tracepoint programs"
                 : std::string("probing bpf_send_signal failed: ") + std::strerror(-ok);
}

void GuardLoader::checkKernel() const {
  if (mode() == PMG_GUARD_OFF) return;
  std::string why = guardKernelMissing();
  if (why.empty()) return;
  throw CaptureError{ErrorCode::kEnforceUnavailable,
                     "eBPF backend: guard mode (enforce) cannot run: " + why +
                         "; nothing would stop an open, so capture does not start"};
}

void GuardLoader::configure(const GuardConfig& config, bpf_map* tables, bpf_map* state) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (tables != nullptr && config.mode != loaded_mode_)
    throw CaptureError{ErrorCode::kInternal,
                       "eBPF backend: guard mode changes take effect at the next start"};
  config_ = config;
  if (tables != nullptr) write(tables, state);
}

void GuardLoader::loaded(bpf_map* tables, bpf_map* state) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (int i = 0; i < PMG_GUARD_COUNTS; i++) base_[i] += current_[i].exchange(0);
  loaded_mode_ = config_.mode;
  index_ = 0;
  write(tables, state);
}

// The table not in use gets the entries, then one word switches the BPF side to it.
void GuardLoader::write(bpf_map* tables, bpf_map* state) {
  pmg_guard_table table{};
  size_t n = config_.entries.size();
  if (n > PMG_GUARD_MAX_EXCEPTIONS) n = PMG_GUARD_MAX_EXCEPTIONS;  // setGuard refused more
  for (size_t i = 0; i < n; i++) table.entries[i] = config_.entries[i];
  uint32_t next = index_ ^ 1u;
  if (bpf_map__update_elem(tables, &next, sizeof(next), &table, sizeof(table), BPF_ANY) != 0)
    throw CaptureError{ErrorCode::kInternal,
                       std::string("eBPF backend: guard table: ") + std::strerror(errno)};
  uint32_t zero = 0;
  uint64_t word = PMG_GUARD_STATE(next, config_.kill_self, n);
  if (bpf_map__update_elem(state, &zero, sizeof(zero), &word, sizeof(word), BPF_ANY) != 0)
    throw CaptureError{ErrorCode::kInternal,
                       std::string("eBPF backend: guard state: ") + std::strerror(errno)};
  index_ = next;
}

void GuardLoader::refresh(const bpf_map* counts) const {
  if (counts == nullptr) return;
  int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return;
  std::vector<uint64_t> values(static_cast<size_t>(cpus));
  for (uint32_t key = 0; key < PMG_GUARD_COUNTS; key++) {
    if (bpf_map__lookup_elem(counts, &key, sizeof(key), values.data(),
                             values.size() * sizeof(uint64_t), 0) != 0)
      continue;
    uint64_t total = 0;
    for (uint64_t v : values) total += v;
    // Two threads may refresh at once: keep the larger (the counters only grow).
    uint64_t seen = current_[key].load();
    while (total > seen && !current_[key].compare_exchange_weak(seen, total)) {
    }
  }
}

uint64_t GuardLoader::newKillFailures(const bpf_map* counts) {
  refresh(counts);
  uint64_t total;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    total = base_[PMG_GUARD_COUNT_KILL_FAILED] + current_[PMG_GUARD_COUNT_KILL_FAILED].load();
  }
  uint64_t fresh = total > warned_failures_ ? total - warned_failures_ : 0;
  warned_failures_ = total;
  return fresh;
}

void GuardLoader::addStats(const bpf_map* counts, std::map<std::string, uint64_t>* out) const {
  refresh(counts);
  std::lock_guard<std::mutex> lock(mutex_);
  auto total = [this](int i) { return base_[i] + current_[i].load(); };
  (*out)["guard_mode"] = config_.mode;
  (*out)["guard_exceptions"] = config_.mode == PMG_GUARD_OFF ? 0 : config_.entries.size();
  (*out)["guard_killed"] = total(PMG_GUARD_COUNT_KILLED);
  (*out)["guard_would_kill"] = total(PMG_GUARD_COUNT_WOULD_KILL);
  (*out)["guard_kill_failures"] = total(PMG_GUARD_COUNT_KILL_FAILED);
}

}  // namespace pmg

#else  // no eBPF backend in this build

#include "guard_loader.h"

namespace pmg {
std::string guardKernelMissing() { return "this addon was built without the eBPF backend"; }
}  // namespace pmg

#endif  // PMG_EBPF
