// Unit tests of storm coalescing (native/fanotify/storm_coalescer.h), without a kernel: when
// the fanotify capture loop pauses after a drain. Built and run by
// test/native/cxx-units.test.ts.
#include "fanotify/storm_coalescer.h"

#include <cstdint>

#include "check.h"

using pmg::StormCoalescer;

int main() {
  constexpr uint64_t kUs = 1000, kMs = 1000 * kUs;
  {  // A quiet host: wake-ups far apart never pause, the first one included.
    StormCoalescer s;
    CHECK(!s.pauseAfter(1));
    CHECK(!s.pauseAfter(1 * kMs));
    CHECK(!s.pauseAfter(2 * kMs));
    CHECK(!s.pauseAfter(2 * kMs + StormCoalescer::kGapNs));  // exactly the gap: not a storm
  }
  {  // A storm: every wake-up closer than the gap pauses, as long as it lasts.
    StormCoalescer s;
    CHECK(!s.pauseAfter(10 * kMs));
    int pauses = 0;
    for (uint64_t t = 10 * kMs + 10 * kUs; t < 11 * kMs; t += 10 * kUs) pauses += s.pauseAfter(t);
    CHECK(pauses == 99);
    // The storm ends: the next wake-up a millisecond later does not pause.
    CHECK(!s.pauseAfter(12 * kMs));
  }
  {  // A lone open right after a pause: the pause itself spaces the next wake-up out.
    StormCoalescer s;
    CHECK(!s.pauseAfter(5 * kMs));
    CHECK(s.pauseAfter(5 * kMs + 20 * kUs));
    CHECK(!s.pauseAfter(5 * kMs + 20 * kUs + StormCoalescer::kPauseNs));
  }
  CHECK(StormCoalescer::kPauseNs > static_cast<long>(StormCoalescer::kGapNs));
  return pmg_test::checkSummary();
}
