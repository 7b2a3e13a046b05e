// Counters of the fanotify backend, exported by stats() under these names.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <string>

namespace pmg {

struct FanotifyCounters {
  std::atomic<uint64_t> events_read{0};       // events taken from the kernel queue
  std::atomic<uint64_t> filtered_not_mem{0};  // procfs events that were not mem-file opens
  std::atomic<uint64_t> filtered_self{0};     // events caused by this process
  std::atomic<uint64_t> emitted{0};           // records handed to the ring
  std::atomic<uint64_t> overflows{0};         // FAN_Q_OVERFLOW events
  std::atomic<uint64_t> unreadable{0};        // events lost to a failed read or fd error
  std::atomic<uint64_t> target_exited{0};     // fd = -ESRCH: reported without a file
  std::atomic<uint64_t> fdinfo_flags{0};      // flags read from the opener's fdinfo
  std::atomic<uint64_t> inferred_flags{0};    // flags inferred from close events
  std::atomic<uint64_t> unknown_flags{0};     // flags unknown: reported as O_RDWR
  std::atomic<uint64_t> marks{0};             // marks installed (one per procfs instance)
  std::atomic<uint64_t> mark_failures{0};     // marks the kernel refused
  std::atomic<uint64_t> procfs_instances{0};  // procfs superblocks being watched
  std::atomic<uint64_t> rescans{0};           // procfs instance scans

  std::map<std::string, uint64_t> snapshot() const {
    return {{"events_read", events_read},
            {"filtered_not_mem", filtered_not_mem},
            {"filtered_self", filtered_self},
            {"emitted", emitted},
            {"overflows", overflows},
            {"unreadable", unreadable},
            {"target_exited", target_exited},
            {"fdinfo_flags", fdinfo_flags},
            {"inferred_flags", inferred_flags},
            {"unknown_flags", unknown_flags},
            {"marks", marks},
            {"mark_failures", mark_failures},
            {"procfs_instances", procfs_instances},
            {"rescans", rescans}};
  }
};

}  // namespace pmg
