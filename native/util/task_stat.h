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

// Task `tid` is gone, exiting or a zombie. A stat that cannot be read for another reason says
// nothing: false.
bool threadEnding(int32_t tid);
// Process `tgid` is gone or ending as a whole, or `start_ticks` (0: not checked) is not its
// start (a later process got its pid). Its leader being a zombie is not enough: a leader that
// called pthread_exit stays one while its other threads run ("Threads:" of its status).
bool processEnding(int32_t tgid, uint64_t start_ticks);

}  // namespace pmg
