// Single-producer single-consumer ring of CaptureRecords in memory shared with JavaScript.
// The capture thread writes records and bumps write_seq; the JavaScript thread reads records
// in batches and bumps read_seq. src/capture/ring.ts mirrors the header layout below.
//
// Header (little-endian, 256 bytes), then `capacity` records of kRecordSize bytes:
//   0   u32 magic 'PMGR' (0x52474d50)   4   u32 header version (1)
//   8   u32 capacity (power of two)     12  u32 record size
//   64  u64 write_seq   (producer only; stored with release after the record is written)
//   128 u64 read_seq    (consumer only; JS stores it with Atomics after a drain)
//   136 u32 wake_pending (producer sets 1 before waking JS; JS sets 0 before draining)
//   192 u64 lost[8]     cumulative losses, indexed by LossCause (atomic adds by the producer)
// (recordLayout() in native/record_layout.cc exports these offsets for the TypeScript check.)
// Record n (sequence number) lives at 256 + (n & (capacity - 1)) * kRecordSize.
// The sequences are 64-bit and never wrap in practice; they keep counting across start/stop.
//
// Memory ownership: the buffer is a plain JavaScript ArrayBuffer allocated by V8 (see
// native/capture_object.cc). The capture object holds a strong reference to it while it
// exists and stops the capture thread before dropping it, so the producer never writes to
// freed memory, and JavaScript may keep (and drain) the ArrayBuffer after stop() for as long
// as it likes: V8 frees it when the last JS reference goes.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <mutex>

#include "../record.h"

namespace pmg {

constexpr uint32_t kRingMagic = 0x52474d50;
constexpr uint32_t kRingHeaderVersion = 1;
constexpr size_t kRingHeaderSize = 256;
constexpr size_t kRingMagicOffset = 0;
constexpr size_t kRingVersionOffset = 4;
constexpr size_t kRingCapacityOffset = 8;
constexpr size_t kRingRecordSizeOffset = 12;
constexpr size_t kRingWriteSeqOffset = 64;
constexpr size_t kRingReadSeqOffset = 128;
constexpr size_t kRingWakePendingOffset = 136;
constexpr size_t kRingLostOffset = 192;
constexpr size_t kRingLostSlots = static_cast<size_t>(LossCause::kCount);
static_assert(kRingLostOffset + kRingLostSlots * 8 <= kRingHeaderSize, "ring header");
constexpr uint32_t kRingDefaultCapacity = 4096;  // 8 MiB of 2 KiB records
constexpr uint32_t kRingMaxCapacity = 1u << 15;  // 64 MiB of records

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

// Rounds a requested capacity up to a power of two within [16, kRingMaxCapacity].
uint32_t ringCapacityFor(uint32_t requested);
// Bytes of shared memory for a ring of `capacity` records (header included).
size_t ringBytesFor(uint32_t capacity);

// The producer side of the ring over memory it does not own. Wake and warn go through
// callbacks installed for the duration of one capture (attach/detach on the JS thread while
// no capture thread runs), so the ring itself knows nothing about N-API.
class Ring : public EventSink {
 public:
  using WakeFn = std::function<bool()>;  // false: the wake-up could not be queued
  using WarnFn = std::function<void(const char*)>;

  // Writes the header into `mem` (ringBytesFor(capacity) bytes, 8-byte aligned, zeroed).
  Ring(uint8_t* mem, uint32_t capacity);

  void attach(WakeFn wake, WarnFn warn);
  void detach();

  bool push(const CaptureRecord& rec) override;
  void lost(LossCause cause, uint64_t count) override;
  void flush() override;
  void warn(const char* message) override;

 private:
  uint64_t* u64At(size_t offset) const { return reinterpret_cast<uint64_t*>(mem_ + offset); }
  uint32_t* u32At(size_t offset) const { return reinterpret_cast<uint32_t*>(mem_ + offset); }

  uint8_t* mem_;
  uint32_t capacity_;
  std::mutex push_mutex_;  // "single producer" even if a backend pushes from two threads
  std::atomic<bool> losses_unseen_{false};
  WakeFn wake_;
  WarnFn warn_;
};

}  // namespace pmg
