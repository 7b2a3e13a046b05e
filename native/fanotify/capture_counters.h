// Counters of the fanotify backend's capture thread, exported by stats() under these names
// (with marks, procfs_instances, rescans and mark_failures from ProcfsMarker).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <string>

#include "pending_flags.h"

namespace pmg {

struct FanotifyCounters {
  std::atomic<uint64_t> events_read{0};            // events taken from the kernel queue
  std::atomic<uint64_t> filtered_not_mem{0};       // procfs events that were not mem-file opens
  std::atomic<uint64_t> filtered_self{0};          // events caused by this process
  std::atomic<uint64_t> filtered_gone_not_mem{0};  // fd -EINVAL: an exiting process's mount table
  std::atomic<uint64_t> emitted{0};                // records handed to the ring
  std::atomic<uint64_t> overflows{0};              // FAN_Q_OVERFLOW events
  std::atomic<uint64_t> unreadable{0};             // events lost to a failed read or fd error
  std::atomic<uint64_t> target_exited{0};          // fd = -ESRCH, reported (held fd or write)
  std::atomic<uint64_t> exited_target_unknown{0};  // fd = -ESRCH, read-only, file unknown
  std::atomic<uint64_t> fdinfo_flags{0};           // flags read from the opener's fdinfo
  std::atomic<uint64_t> inferred_flags{0};         // flags inferred from close events
  std::atomic<uint64_t> unknown_flags{0};          // flags unknown: reported as O_RDWR
  std::atomic<uint64_t> exec_events{0};            // FAN_OPEN_EXEC: binaries named for the table
  std::atomic<uint64_t> exec_filesystems{0};       // filesystems marked for FAN_OPEN_EXEC
  std::atomic<uint64_t> storm_pauses{0};           // coalescing pauses during event storms
  // PendingFlags (copied after each pass of the capture loop; see pending_flags.h).
  std::atomic<uint64_t> flags_waited{0};       // opens whose fd was not found at once
  std::atomic<uint64_t> flags_late_fdinfo{0};  // ... whose fd then showed up
  std::atomic<uint64_t> flags_closed{0};       // ... whose opener was past the open without it
  std::atomic<uint64_t> flags_write_close{0};  // ... resolved by a write-close
  std::atomic<uint64_t> flags_timed_out{0};    // ... that ran out of look-ups (unknown flags)
  std::atomic<uint64_t> flags_pushed_out{0};   // ... pushed out by the waiting bound (unknown)
  std::atomic<uint64_t> flags_reemitted{0};    // read-only records reported again as writes
  std::atomic<uint64_t> flags_waiting{0};      // waiting now

  void syncPending(const PendingFlags& p) {
    const PendingFlags::Counters& c = p.counters();
    flags_waited = c.waited;
    flags_late_fdinfo = c.late_fdinfo;
    flags_closed = c.closed;
    flags_write_close = c.write_close;
    flags_timed_out = c.timed_out;
    flags_pushed_out = c.pushed_out;
    flags_reemitted = c.reemitted;
    flags_waiting = p.waiting();
  }

  std::map<std::string, uint64_t> snapshot() const {
    return {{"events_read", events_read},
            {"filtered_not_mem", filtered_not_mem},
            {"filtered_self", filtered_self},
            {"filtered_gone_not_mem", filtered_gone_not_mem},
            {"emitted", emitted},
            {"overflows", overflows},
            {"unreadable", unreadable},
            {"target_exited", target_exited},
            {"exited_target_unknown", exited_target_unknown},
            {"fdinfo_flags", fdinfo_flags},
            {"inferred_flags", inferred_flags},
            {"unknown_flags", unknown_flags},
            {"exec_events", exec_events},
            {"exec_filesystems", exec_filesystems},
            {"storm_pauses", storm_pauses},
            {"flags_waited", flags_waited},
            {"flags_late_fdinfo", flags_late_fdinfo},
            {"flags_closed", flags_closed},
            {"flags_write_close", flags_write_close},
            {"flags_timed_out", flags_timed_out},
            {"flags_pushed_out", flags_pushed_out},
            {"flags_reemitted", flags_reemitted},
            {"flags_waiting", flags_waiting}};
  }
};

}  // namespace pmg
