#include "pending_flags.h"

#include <fcntl.h>

#include <algorithm>

namespace pmg {

void setUnknownFlags(CaptureRecord* rec) {
  rec->open_flags = O_RDWR;  // both signatures fire: better a finding than silence
  rec->flags_source = static_cast<uint8_t>(FlagsSource::kUnknown);
}

uint64_t PendingFlags::insert(const CaptureRecord& rec, uint64_t now_ns, bool watching,
                              bool merged) {
  uint64_t id = next_id_++;
  Entry& e = entries_.emplace(id, Entry{rec, now_ns, 0, 0, watching, merged}).first->second;
  by_file_[keyOf(rec)].push_back(id);
  if (!watching) waiting_count_++;
  schedule(id, &e);
  return id;
}

void PendingFlags::erase(std::map<uint64_t, Entry>::iterator it) {
  const Entry& e = it->second;
  due_.erase(Due{e.due_ns, it->first});
  auto f = by_file_.find(keyOf(e.rec));
  if (f != by_file_.end()) {
    auto& ids = f->second;
    ids.erase(std::remove(ids.begin(), ids.end(), it->first), ids.end());
    if (ids.empty()) by_file_.erase(f);
  }
  if (!e.watching) waiting_count_--;
  entries_.erase(it);
}

bool PendingFlags::schedule(uint64_t id, Entry* e) {
  size_t limit = e->watching ? kWatchChecks : kRetries;
  if (e->step >= limit) return false;
  e->due_ns = e->opened_ns + kRetryNs[e->step++];
  due_.insert(Due{e->due_ns, id});
  return true;
}

void PendingFlags::finishWaiting(std::map<uint64_t, Entry>::iterator it, int32_t flags,
                                 FlagsSource source, std::vector<CaptureRecord>* out) {
  CaptureRecord rec = it->second.rec;
  if (source == FlagsSource::kUnknown) {
    setUnknownFlags(&rec);
  } else {
    rec.open_flags = flags;
    rec.flags_source = static_cast<uint8_t>(source);
  }
  out->push_back(rec);
  erase(it);
}

void PendingFlags::wait(const CaptureRecord& rec, uint64_t now_ns, bool merged_read_close,
                        std::vector<CaptureRecord>* out) {
  counters_.waited++;
  insert(rec, now_ns, false, merged_read_close);
  if (waiting_count_ <= kMaxWaiting) return;
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->second.watching) continue;
    counters_.pushed_out++;
    finishWaiting(it, 0, FlagsSource::kUnknown, out);
    return;
  }
}

void PendingFlags::watch(const CaptureRecord& rec, uint64_t now_ns) {
  insert(rec, now_ns, true);
  if (watching() <= kMaxWatching) return;
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (!it->second.watching) continue;
    counters_.watch_dropped++;
    erase(it);
    return;
  }
}

bool PendingFlags::closed(uint64_t dev, uint64_t ino, int32_t pid, bool write,
                          std::vector<CaptureRecord>* out) {
  auto f = by_file_.find(Key{dev, ino, pid});
  if (f == by_file_.end()) return false;
  std::vector<uint64_t> ids = f->second;  // erase() edits the list
  for (uint64_t id : ids) {
    auto it = entries_.find(id);
    if (it == entries_.end() || it->second.watching) continue;
    counters_.by_close++;
    finishWaiting(it, write ? O_RDWR : O_RDONLY, FlagsSource::kInferred, out);
    return true;
  }
  if (!write) return false;
  for (uint64_t id : ids) {  // a write-close of a file reported read-only: report the write
    auto it = entries_.find(id);
    if (it == entries_.end()) continue;
    CaptureRecord rec = it->second.rec;
    rec.open_flags = O_RDWR;
    rec.flags_source = static_cast<uint8_t>(FlagsSource::kInferred);
    out->push_back(rec);
    counters_.reemitted++;
    erase(it);
    break;
  }
  return false;
}

void PendingFlags::poll(uint64_t now_ns, const Probe& probe, std::vector<CaptureRecord>* out) {
  while (!due_.empty() && due_.begin()->first <= now_ns) {
    uint64_t id = due_.begin()->second;
    due_.erase(due_.begin());
    auto it = entries_.find(id);
    if (it == entries_.end()) continue;
    Entry& e = it->second;
    int32_t flags = 0, fd = -1;
    Probed found = probe(e.rec, &flags, &fd);
    if (found == Probed::kGone && e.watching) {  // an exited opener holds nothing any more
      erase(it);
      continue;
    }
    if (found == Probed::kFound) {
      if (!e.watching) {
        counters_.late_fdinfo++;
        it->second.rec.return_value = fd;
        finishWaiting(it, flags, FlagsSource::kFdinfo, out);
        continue;
      }
      if ((flags & O_ACCMODE) != O_RDONLY) {
        CaptureRecord rec = e.rec;
        rec.open_flags = flags;
        rec.return_value = fd;
        rec.flags_source = static_cast<uint8_t>(FlagsSource::kFdinfo);
        out->push_back(rec);
        counters_.reemitted++;
        erase(it);
        continue;
      }
    }
    if (schedule(id, &e)) continue;
    if (e.watching) {
      erase(it);
    } else if (e.merged_read_close) {
      counters_.by_close++;
      finishWaiting(it, O_RDONLY, FlagsSource::kInferred, out);
    } else {
      counters_.timed_out++;
      finishWaiting(it, 0, FlagsSource::kUnknown, out);
    }
  }
}

void PendingFlags::flush(std::vector<CaptureRecord>* out) {
  while (!entries_.empty()) {
    auto it = entries_.begin();
    if (it->second.watching) {
      erase(it);
    } else {
      finishWaiting(it, 0, FlagsSource::kUnknown, out);
    }
  }
}

uint64_t PendingFlags::nextDeadline() const {
  return due_.empty() ? UINT64_MAX : due_.begin()->first;
}

}  // namespace pmg
