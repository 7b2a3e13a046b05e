// Storm coalescing for the fanotify capture thread. A reader that empties the queue and goes
// back to sleep makes every new event wake it: the opener pays a cross-CPU wake-up per open
// and identical opens never get the chance to merge. When wake-ups come faster than one per
// kGapNs (a storm: over 20k wake-ups/s), the reader pauses kPauseNs after each drain so the
// queue fills and is read in one go. A lone mem open on a quiet host never pauses, so its
// open-to-finding latency is unchanged; during a storm it grows by at most the pause. Measured
// by bench/storm.mjs and bench/latency.mjs; unit-tested in test/native/cpp/storm_coalescer_test.cc.
#pragma once

#include <cstdint>

namespace pmg {

class StormCoalescer {
 public:
  static constexpr uint64_t kGapNs = 50 * 1000;
  static constexpr long kPauseNs = 200 * 1000;

  // Called once per wake-up that read events (CLOCK_MONOTONIC ns of the wake-up): whether the
  // reader pauses kPauseNs after this drain. The first wake-up never pauses.
  bool pauseAfter(uint64_t woke_ns) {
    bool storm = woken_ && woke_ns - last_wake_ns_ < kGapNs;
    woken_ = true;
    last_wake_ns_ = woke_ns;
    return storm;
  }

 private:
  bool woken_ = false;
  uint64_t last_wake_ns_ = 0;
};

}  // namespace pmg
