// The clocks every backend and the process table read, in one place: CLOCK_REALTIME for a
// record's timestamp, CLOCK_MONOTONIC for deadlines and latency, CLOCK_BOOTTIME for thread
// start times (what /proc/<pid>/stat counts from).
#pragma once

#include <time.h>

#include <cstdint>

namespace pmg {

inline uint64_t clockNs(clockid_t id) {
  struct timespec ts;
  if (clock_gettime(id, &ts) != 0) return 0;  // only EINVAL for an unknown clock id
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}
inline uint64_t monotonicNs() { return clockNs(CLOCK_MONOTONIC); }
inline uint64_t realtimeNs() { return clockNs(CLOCK_REALTIME); }
inline uint64_t boottimeNs() { return clockNs(CLOCK_BOOTTIME); }
inline int64_t monotonicMs() { return static_cast<int64_t>(monotonicNs() / 1000000ull); }

}  // namespace pmg
