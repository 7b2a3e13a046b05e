#include "task_stat.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "proc_files.h"

namespace pmg {

bool parseTaskStat(const char* text, size_t n, TaskStat* out) {
  std::string line(text, n);
  size_t lp = line.find('(');
  size_t rp = line.rfind(')');
  if (lp == std::string::npos || rp == std::string::npos || rp < lp || rp + 2 >= line.size())
    return false;
  out->comm = line.substr(lp + 1, rp - lp - 1);
  out->state = line[rp + 2];
  out->flags = 0;
  out->start_ticks = 0;
  const char* p = line.c_str() + rp + 2;  // field 3
  for (int field = 3; field <= 22 && *p != '\0'; ++field) {
    if (field == 9) out->flags = std::strtoull(p, nullptr, 10);
    if (field == 22) out->start_ticks = std::strtoull(p, nullptr, 10);
    const char* sp = std::strchr(p, ' ');
    if (sp == nullptr) return field >= 22;
    p = sp + 1;
  }
  return true;
}

TaskRead readTaskStat(int32_t pid, TaskStat* out) {
  std::string text;
  if (!readSmallFile("/proc/" + std::to_string(pid) + "/stat", &text, 4096))
    return errno == ENOENT || errno == ESRCH ? TaskRead::kGone : TaskRead::kError;
  if (text.empty()) return TaskRead::kGone;
  return parseTaskStat(text.data(), text.size(), out) ? TaskRead::kOk : TaskRead::kError;
}

bool threadEnding(int32_t tid) {
  TaskStat st;
  TaskRead r = readTaskStat(tid, &st);
  return r == TaskRead::kGone || (r == TaskRead::kOk && taskEnding(st));
}

bool processEnding(int32_t tgid, uint64_t start_ticks) {
  TaskStat st;
  TaskRead r = readTaskStat(tgid, &st);
  if (r == TaskRead::kGone) return true;
  if (r != TaskRead::kOk) return false;
  if (start_ticks != 0 && st.start_ticks != start_ticks) return true;
  if (!taskEnding(st)) return false;
  std::string status, threads;
  uint64_t n = 0;
  if (!readSmallFile("/proc/" + std::to_string(tgid) + "/status", &status) ||
      !fieldValue(status, "Threads", &threads) || !parseDecimal(threads, &n))
    return true;  // gone meanwhile
  return n <= 1;
}

}  // namespace pmg
