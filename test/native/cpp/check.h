// The one assertion of the kernel-free C++ unit tests (test/native/cpp/*_test.cc): CHECK counts
// and prints failures and goes on; checkSummary() prints "ok N checks passed" or the failure
// count, and is main's return value. The tests are built and run by test/helpers/cxx.ts.
#pragma once

#include <cstdio>

namespace pmg_test {
inline int failures = 0, checks = 0;
inline int checkSummary() {
  if (failures) {
    std::printf("FAILED %d of %d checks\n", failures, checks);
    return 1;
  }
  std::printf("ok %d checks passed\n", checks);
  return 0;
}
}  // namespace pmg_test

#define CHECK(cond)                                               \
  do {                                                            \
    pmg_test::checks++;                                           \
    if (!(cond)) {                                                \
      pmg_test::failures++;                                       \
      std::printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
    }                                                             \
  } while (0)
