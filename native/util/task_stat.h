// A task's /proc/<pid>/stat: its state, kernel flags and start time. Shared by the process
// table (native/proc) and the fanotify backend's observed access (is an opener exiting?).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace pmg {

// PF_EXITING (include/linux/sched.h): set when the task starts exiting, before it closes its
// files; stays set in the zombie.
constexpr uint64_t kTaskFlagExiting = 0x4;

struct TaskStat {
  std::string comm;
  char state = 0;            // field 3: R, S, D, Z, X...
  uint64_t flags = 0;        // field 9: the kernel's task flags (PF_*)
  uint64_t start_ticks = 0;  // field 22: start time in clock ticks since boot
};

// Parses the text of a stat file. comm may hold spaces and parentheses: it ends at the LAST
// ')'. False when the text is not a stat line.
bool parseTaskStat(const char* text, size_t n, TaskStat* out);

enum class TaskRead { kOk, kGone, kError };
// Reads /proc/<pid>/stat. kGone: no such task (ENOENT, ESRCH, or an empty read of a task
// that vanished); kError: could not be read for another reason, which says nothing about it.
TaskRead readTaskStat(int32_t pid, TaskStat* out);

// Exiting or exited (not reaped yet): the state Z or X, or PF_EXITING set.
inline bool taskEnding(const TaskStat& s) {
  return s.state == 'Z' || s.state == 'X' || (s.flags & kTaskFlagExiting) != 0;
}

}  // namespace pmg
