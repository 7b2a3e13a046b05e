// Producer side of the shared ring; the layout is documented in ring.h.
#include "ring.h"

#include <cstring>

namespace pmg {

uint32_t ringCapacityFor(uint32_t requested) {
  uint32_t cap = 16;
  while (cap < requested && cap < kRingMaxCapacity) cap <<= 1;
  return cap;
}

size_t ringBytesFor(uint32_t capacity) { return kRingHeaderSize + capacity * kRecordSize; }

Ring::Ring(uint8_t* mem, uint32_t capacity) : mem_(mem), capacity_(capacity) {
  *u32At(kRingMagicOffset) = kRingMagic;
  *u32At(kRingVersionOffset) = kRingHeaderVersion;
  *u32At(kRingCapacityOffset) = capacity;
  *u32At(kRingRecordSizeOffset) = kRecordSize;
}

void Ring::attach(WakeFn wake, WarnFn warn) {
  wake_ = std::move(wake);
  warn_ = std::move(warn);
  // A wake-up queued by a previous capture may have been dropped when its thread-safe
  // function was released; clear the flag so this capture can wake JavaScript again.
  __atomic_store_n(u32At(kRingWakePendingOffset), 0u, __ATOMIC_RELEASE);
}

void Ring::detach() {
  wake_ = nullptr;
  warn_ = nullptr;
}

bool Ring::push(const CaptureRecord& rec) {
  std::lock_guard<std::mutex> lock(push_mutex_);
  uint64_t write = __atomic_load_n(u64At(kRingWriteSeqOffset), __ATOMIC_RELAXED);
  uint64_t read = __atomic_load_n(u64At(kRingReadSeqOffset), __ATOMIC_ACQUIRE);
  if (write - read >= capacity_) {
    lost(LossCause::kRingFull, 1);
    return false;
  }
  std::memcpy(mem_ + kRingHeaderSize + (write & (capacity_ - 1)) * kRecordSize, &rec, kRecordSize);
  __atomic_store_n(u64At(kRingWriteSeqOffset), write + 1, __ATOMIC_RELEASE);
  return true;
}

void Ring::lost(LossCause cause, uint64_t count) {
  auto slot = static_cast<size_t>(cause);
  if (slot >= static_cast<size_t>(LossCause::kCount) || count == 0) return;
  __atomic_fetch_add(u64At(kRingLostOffset + slot * 8), count, __ATOMIC_RELEASE);
  losses_unseen_.store(true, std::memory_order_release);
}

void Ring::flush() {
  uint64_t write = __atomic_load_n(u64At(kRingWriteSeqOffset), __ATOMIC_ACQUIRE);
  uint64_t read = __atomic_load_n(u64At(kRingReadSeqOffset), __ATOMIC_ACQUIRE);
  bool losses = losses_unseen_.exchange(false, std::memory_order_acq_rel);
  if (write == read && !losses) return;
  // At most one wake-up in flight: JavaScript clears the flag before it drains, so anything
  // pushed after its drain started finds the flag clear and wakes it again.
  if (__atomic_exchange_n(u32At(kRingWakePendingOffset), 1u, __ATOMIC_ACQ_REL) != 0) return;
  if (!wake_ || !wake_()) __atomic_store_n(u32At(kRingWakePendingOffset), 0u, __ATOMIC_RELEASE);
}

void Ring::warn(const char* message) {
  if (warn_) warn_(message);
}

}  // namespace pmg
