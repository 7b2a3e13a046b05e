// A budget of reported mem opens per opener uid, shared by the capture backends. A user who
// floods the host with opens of its own processes' mem files (a few thousand per second are
// cheap to make) would otherwise fill the ring and the JavaScript side, and another user's read
// made during the flood would be lost with the flood. Each uid has a token bucket (kBurst opens
// at once, kPerSecond sustained); opens over it are folded: counted (LossCause::kFolded, stats)
// but not reported one by one, and their flags are not looked up (the capture thread's work for
// them stops before attribution where the event carries the uid, eBPF and audit, and at it in
// fanotify). Other uids' opens are untouched. Pure logic: unit-tested without a kernel
// (test/native/cpp/flood_guard_test.cc).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>

namespace pmg {

class EventSink;

class FloodGuard {
 public:
  static constexpr uint32_t kBurst = 256;
  static constexpr uint32_t kPerSecond = 1000;
  // A flood "incident" (for the warning) ends once the uid's bucket is full again.
  static constexpr uint64_t kWarnEveryNs = 60ull * 1000 * 1000 * 1000;
  static constexpr size_t kMaxUids = 4096;  // buckets kept; idle (full) ones go first
  // The bucket of openers whose uid is unknown (attribution missing): never uid 0's.
  static constexpr uint32_t kUnknownUid = 0xffffffffu;

  // Whether an open by `uid` at `now_ns` is reported (true) or folded (false). `warn` is set
  // when this fold starts an incident worth a warning (at most one per uid per kWarnEveryNs).
  bool admit(uint32_t uid, uint64_t now_ns, bool* warn);
  // admit() for a backend: a folded open is counted as a LossCause::kFolded loss on `sink`,
  // and the start of an incident warned about there.
  bool admitOrFold(uint32_t uid, uint64_t now_ns, EventSink& sink);
  // Both readable from any thread (stats); admit() is for one capture thread.
  uint64_t folded() const { return folded_.load(std::memory_order_relaxed); }
  // Uids whose bucket is empty right now (folding).
  size_t flooding() const { return flooding_.load(std::memory_order_relaxed); }
  size_t buckets() const { return buckets_.size(); }

 private:
  struct Bucket {
    uint64_t tokens_milli;  // tokens x 1000
    uint64_t updated_ns;
    uint64_t warned_ns;
    bool warned;
    bool folding;
  };
  void refill(Bucket* b, uint64_t now_ns);
  void evictIdle(uint64_t now_ns);

  std::unordered_map<uint32_t, Bucket> buckets_;
  std::atomic<uint64_t> folded_{0};
  std::atomic<size_t> flooding_{0};
};

// The warning for a uid that starts a flood (backends pass it to EventSink::warn).
std::string floodWarning(uint32_t uid);

}  // namespace pmg
