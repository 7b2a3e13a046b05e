// Unit tests of FloodGuard (native/util/flood_guard.h) without a kernel. Built and run by
// test/native/cxx-units.test.ts.
#include "util/flood_guard.h"

#include "check.h"

using pmg::FloodGuard;

int main() {
  constexpr uint64_t kMs = 1000 * 1000;
  {  // A burst passes, then the flooder is folded; another uid is untouched; warned once.
    FloodGuard g;
    bool warn = false;
    int passed = 0, warnings = 0;
    for (uint32_t i = 0; i < 5000; i++) {
      if (g.admit(65534, 0, &warn)) passed++;
      warnings += warn;
    }
    CHECK(passed == static_cast<int>(FloodGuard::kBurst));
    CHECK(g.folded() == 5000 - FloodGuard::kBurst);
    CHECK(warnings == 1 && g.flooding() == 1);
    CHECK(g.admit(0, 0, &warn) && !warn);  // root's read during the flood is reported
    // The flooder gets kPerSecond a second back.
    passed = 0;
    for (uint64_t t = 1; t <= 1000; t++)
      if (g.admit(65534, t * kMs, &warn)) passed++;
    CHECK(passed >= static_cast<int>(FloodGuard::kPerSecond) - 1 &&
          passed <= static_cast<int>(FloodGuard::kPerSecond));
    // Quiet long enough to refill: the incident ends; a new flood within a minute: no warning.
    CHECK(g.admit(65534, 3000 * kMs, &warn) && g.flooding() == 0);
    warnings = 0;
    for (int i = 0; i < 1000; i++) {
      g.admit(65534, 3000 * kMs, &warn);
      warnings += warn;
    }
    CHECK(warnings == 0 && g.flooding() == 1);
    for (int i = 0; i < 1000; i++) {
      g.admit(65534, 70'000 * kMs, &warn);
      warnings += warn;
    }
    CHECK(warnings == 1);
  }
  {  // Unknown openers have their own bucket, never root's.
    FloodGuard g;
    bool warn = false;
    for (int i = 0; i < 1000; i++) g.admit(FloodGuard::kUnknownUid, 0, &warn);
    CHECK(g.admit(0, 0, &warn));
  }
  {  // Bounded: idle buckets are evicted first; never more than kMaxUids.
    FloodGuard g;
    bool warn = false;
    for (uint32_t u = 0; u < FloodGuard::kMaxUids * 2; u++) g.admit(u, u * kMs, &warn);
    CHECK(g.buckets() <= FloodGuard::kMaxUids);
    // Time going backwards (another thread's clock reading) does not underflow.
    CHECK(g.admit(1, 0, &warn));
  }
  return pmg_test::checkSummary();
}
