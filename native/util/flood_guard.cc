#include "flood_guard.h"

#include "../ring/ring.h"

namespace pmg {

void FloodGuard::refill(Bucket* b, uint64_t now_ns) {
  if (now_ns <= b->updated_ns) return;
  uint64_t elapsed = now_ns - b->updated_ns;
  uint64_t full = uint64_t{kBurst} * 1000;
  // kPerSecond tokens per 1e9 ns, in thousandths; capped so the product cannot overflow.
  uint64_t add = elapsed >= 1'000'000'000ull ? full : elapsed * kPerSecond / 1'000'000ull;
  b->tokens_milli = b->tokens_milli + add >= full ? full : b->tokens_milli + add;
  b->updated_ns = now_ns;
  if (b->folding && b->tokens_milli == full) {
    b->folding = false;
    flooding_--;
  }
}

void FloodGuard::evictIdle(uint64_t now_ns) {
  uint64_t full = uint64_t{kBurst} * 1000;
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    refill(&it->second, now_ns);
    if (!it->second.folding && it->second.tokens_milli == full) {
      it = buckets_.erase(it);
    } else {
      ++it;
    }
  }
  // Still too many (that many uids flooding at once): forget the least recently updated.
  while (buckets_.size() >= kMaxUids) {
    auto oldest = buckets_.begin();
    for (auto it = buckets_.begin(); it != buckets_.end(); ++it)
      if (it->second.updated_ns < oldest->second.updated_ns) oldest = it;
    if (oldest->second.folding) flooding_--;
    buckets_.erase(oldest);
  }
}

bool FloodGuard::admit(uint32_t uid, uint64_t now_ns, bool* warn) {
  *warn = false;
  auto it = buckets_.find(uid);
  if (it == buckets_.end()) {
    if (buckets_.size() >= kMaxUids) evictIdle(now_ns);
    it = buckets_.emplace(uid, Bucket{uint64_t{kBurst} * 1000, now_ns, 0, false, false}).first;
  }
  Bucket& b = it->second;
  refill(&b, now_ns);
  if (b.tokens_milli >= 1000) {
    b.tokens_milli -= 1000;
    return true;
  }
  folded_++;
  if (!b.folding) {
    b.folding = true;
    flooding_++;
    if (!b.warned || now_ns - b.warned_ns >= kWarnEveryNs) {
      b.warned = true;
      b.warned_ns = now_ns;
      *warn = true;
    }
  }
  return false;
}

bool FloodGuard::admitOrFold(uint32_t uid, uint64_t now_ns, EventSink& sink) {
  bool warn = false;
  if (admit(uid, now_ns, &warn)) return true;
  sink.lost(LossCause::kFolded, 1);
  if (warn) sink.warn(floodWarning(uid).c_str());
  return false;
}

std::string floodWarning(uint32_t uid) {
  std::string who =
      uid == FloodGuard::kUnknownUid ? "openers of unknown uid" : "uid " + std::to_string(uid);
  return who + " opens procfs mem files faster than " + std::to_string(FloodGuard::kPerSecond) +
         "/s after a burst of " + std::to_string(FloodGuard::kBurst) +
         ": its further opens are counted as 'folded' losses, not reported one by one, until it "
         "slows down; other users' opens are still reported";
}

}  // namespace pmg
