// Single-producer single-consumer ring of CaptureRecords in memory shared with JavaScript.
// The capture thread writes records and bumps write_seq; the JavaScript thread reads records
// in batches and bumps read_seq. src/capture/ring.ts mirrors the header layout below.
//
// Header (little-endian, 256 bytes), then `capacity` records of kRecordSize bytes:
//   0   u32 magic 'PMGR' (0x52474d50)   4   u32 header version (1)
//   8   u32 capacity (power of two)     12  u32 record size
//   64  u64 write_seq   (producer only)
//   128 u64 read_seq    (consumer only)
//   136 u32 wake_pending (producer sets 1 before waking JS; JS sets 0 before draining)
//   192 u64 lost[8]     cumulative losses, indexed by LossCause
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdlib>

#include "../record.h"

namespace pmg {

constexpr uint32_t kRingMagic = 0x52474d50;
constexpr size_t kRingHeaderSize = 256;

// Receives what a capture backend produces. Implemented by the ring (native/ring/) and
// usable by tests. All methods are called from capture threads and must be thread-safe.
class EventSink {
 public:
  virtual ~EventSink() = default;
  // Copies the record into the ring. Returns false (and counts kRingFull) if it was full.
  virtual bool push(const CaptureRecord& rec) = 0;
  // Adds to a loss counter; JavaScript emits 'lost' for the growth on its next drain.
  virtual void lost(LossCause cause, uint64_t count) = 0;
  // Wakes the JavaScript reader once for everything pushed since the last wake.
  // Backends call it once per batch (one read() of the kernel fd), not per record.
  virtual void flush() = 0;
  // A non-fatal problem worth telling the user ('error' event in JavaScript).
  virtual void warn(const char* message) = 0;
};

}  // namespace pmg
