#include "opener_flags.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <cstdlib>
#include <string>

#include "../util/proc_files.h"

namespace pmg {

int findOpenerFd(int32_t pid, const std::function<bool(int fd, const struct stat&)>& match) {
  DIR* dir = opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
  if (!dir) return -1;
  int found = -1;
  while (struct dirent* e = readdir(dir)) {
    uint64_t n = 0;
    struct stat st;
    if (parseDecimal(e->d_name, &n) && fstatat(dirfd(dir), e->d_name, &st, 0) == 0 &&
        match(static_cast<int>(n), st)) {
      found = static_cast<int>(n);
      break;
    }
  }
  closedir(dir);
  return found;
}

bool readFdFlags(int32_t pid, int fd, int32_t* flags) {
  std::string info, value;
  if (!readSmallFile("/proc/" + std::to_string(pid) + "/fdinfo/" + std::to_string(fd), &info) ||
      !fieldValue(info, "flags", &value))
    return false;
  char* end = nullptr;
  long v = std::strtol(value.c_str(), &end, 8);
  if (end == value.c_str()) return false;
  *flags = static_cast<int32_t>(v);
  return true;
}

bool readOpenerFlags(int32_t pid, uint64_t dev, uint64_t ino, int32_t* flags, int32_t* fd) {
  int found = findOpenerFd(
      pid, [dev, ino](int, const struct stat& st) { return st.st_dev == dev && st.st_ino == ino; });
  if (found < 0 || !readFdFlags(pid, found, flags)) return false;
  *fd = found;
  return true;
}

void setUnknownFlags(CaptureRecord* rec) {
  rec->open_flags = O_RDWR;  // both signatures fire: better a finding than silence
  rec->flags_source = static_cast<uint8_t>(FlagsSource::kUnknown);
}

void PendingFlags::add(const CaptureRecord& rec, uint64_t now_ns, uint64_t drained_epoch) {
  waiting_.push_back(Waiting{rec, now_ns, drained_epoch, false});
}

bool PendingFlags::closedForWrite(uint64_t dev, uint64_t ino, int32_t pid, uint64_t now_ns,
                                  std::vector<CaptureRecord>* out) {
  bool any = false;
  for (auto it = inferred_read_.begin(); it != inferred_read_.end();) {
    const CaptureRecord& r = it->second;
    if (now_ns - it->first > kLateCloseNs) {
      it = inferred_read_.erase(it);
    } else if (r.dev == dev && r.inode == ino && r.host_pid == pid) {
      CaptureRecord again = r;
      again.open_flags = O_RDWR;
      out->push_back(again);
      it = inferred_read_.erase(it);
      any = true;
    } else {
      ++it;
    }
  }
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    if (it->rec.dev == dev && it->rec.inode == ino && it->rec.host_pid == pid) {
      it->rec.open_flags = O_RDWR;
      it->rec.flags_source = static_cast<uint8_t>(FlagsSource::kInferred);
      out->push_back(it->rec);
      it = waiting_.erase(it);
      any = true;
    } else {
      ++it;
    }
  }
  return any;
}

void PendingFlags::expire(uint64_t now_ns, uint64_t drained_epoch,
                          std::vector<CaptureRecord>* out) {
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    uint64_t age = now_ns - it->added_ns;
    bool too_old = now_ns == UINT64_MAX || age >= kPendingMaxNs;
    if (!too_old && (age < kPendingGraceNs || drained_epoch <= it->epoch)) {
      ++it;
      continue;
    }
    if (it->uncertain || too_old) {
      setUnknownFlags(&it->rec);
    } else {
      it->rec.open_flags = O_RDONLY;
      it->rec.flags_source = static_cast<uint8_t>(FlagsSource::kInferred);
      if (inferred_read_.size() >= kInferredReadMax) inferred_read_.erase(inferred_read_.begin());
      if (now_ns != UINT64_MAX) inferred_read_.emplace_back(now_ns, it->rec);
    }
    out->push_back(it->rec);
    it = waiting_.erase(it);
  }
}

void PendingFlags::markUncertain() {
  for (auto& w : waiting_) w.uncertain = true;
}

uint64_t PendingFlags::nextDeadline() const {
  uint64_t next = UINT64_MAX;
  for (const auto& w : waiting_)
    if (w.added_ns + kPendingGraceNs < next) next = w.added_ns + kPendingGraceNs;
  return next;
}

}  // namespace pmg
