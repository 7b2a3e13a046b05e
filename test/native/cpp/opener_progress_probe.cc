// Prints what openerProgress() (native/fanotify/opener_progress.h) says of thread TID: once, then
// again after SECOND_MS milliseconds with the mark the first call kept. Used by
// test/native/opener-progress.test.ts against real processes.
// Usage: opener_progress_probe TID SECOND_MS
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "fanotify/opener_progress.h"

static const char* name(pmg::PendingFlags::Probed p) {
  switch (p) {
    case pmg::PendingFlags::Probed::kFound:
      return "found";
    case pmg::PendingFlags::Probed::kNotYet:
      return "not-yet";
    case pmg::PendingFlags::Probed::kClosed:
      return "closed";
  }
  return "?";
}

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: opener_progress_probe TID SECOND_MS\n");
    return 2;
  }
  int tid = std::atoi(argv[1]);
  uint64_t mark = 0;
  std::printf("%s", name(pmg::openerProgress(tid, &mark)));
  std::this_thread::sleep_for(std::chrono::milliseconds(std::atoi(argv[2])));
  std::printf(" %s\n", name(pmg::openerProgress(tid, &mark)));
  return 0;
}
