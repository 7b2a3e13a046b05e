#include "pending_flags.h"

#include <fcntl.h>

#include <algorithm>

namespace pmg {

void setUnknownFlags(CaptureRecord* rec) {
  rec->open_flags = O_RDWR;  // both signatures fire: better a finding than silence
  rec->flags_source = static_cast<uint8_t>(FlagsSource::kUnknown);
}

uint64_t PendingFlags::insert(const CaptureRecord& rec, State state, uint64_t now_ns) {
  uint64_t id = next_id_++;
  entries_.emplace(id, Entry{rec, state, now_ns, 0, 0, 0, 0});
  by_file_[keyOf(rec)].push_back(id);
  if (state == State::kReported) {
    reported_count_++;
  } else {
    waiting_count_++;
  }
  return id;
}

void PendingFlags::erase(std::map<uint64_t, Entry>::iterator it) {
  const Entry& e = it->second;
  if (e.state == State::kWaiting) dropTid(it->first, e);
  if (e.due_ns) due_.erase(Due{e.due_ns, it->first});
  closed_.erase(it->first);
  auto f = by_file_.find(keyOf(e.rec));
  if (f != by_file_.end()) {
    auto& ids = f->second;
    ids.erase(std::remove(ids.begin(), ids.end(), it->first), ids.end());
    if (ids.empty()) by_file_.erase(f);
  }
  if (e.state == State::kReported) {
    reported_count_--;
  } else {
    waiting_count_--;
  }
  entries_.erase(it);
}

void PendingFlags::setDue(uint64_t id, Entry* e, uint64_t due_ns) {
  if (e->due_ns) due_.erase(Due{e->due_ns, id});
  e->due_ns = due_ns;
  if (due_ns) due_.insert(Due{due_ns, id});
}

bool PendingFlags::scheduleNext(uint64_t id, Entry* e) {
  if (e->step >= kRetries) return false;
  setDue(id, e, e->opened_ns + kRetryNs[e->step++]);
  return true;
}

void PendingFlags::dropTid(uint64_t id, const Entry& e) {
  auto t = by_tid_.find(e.rec.host_tid);
  if (t == by_tid_.end()) return;
  auto& ids = t->second;
  ids.erase(std::remove(ids.begin(), ids.end(), id), ids.end());
  if (ids.empty()) by_tid_.erase(t);
}

void PendingFlags::progressed(int32_t tid, uint64_t drained_epoch) {
  auto t = by_tid_.find(tid);
  if (t == by_tid_.end()) return;
  std::vector<uint64_t> ids = std::move(t->second);
  by_tid_.erase(t);
  for (uint64_t id : ids) {
    auto it = entries_.find(id);
    if (it != entries_.end() && it->second.state == State::kWaiting)
      markClosed(id, &it->second, drained_epoch);
  }
}

void PendingFlags::markClosed(uint64_t id, Entry* e, uint64_t drained_epoch) {
  if (e->state == State::kWaiting) dropTid(id, *e);
  setDue(id, e, 0);
  e->state = State::kClosed;
  e->closed_epoch = drained_epoch;
  closed_.insert(id);
}

void PendingFlags::report(std::map<uint64_t, Entry>::iterator it, int32_t flags, FlagsSource source,
                          uint64_t now_ns, std::vector<CaptureRecord>* out) {
  CaptureRecord rec = it->second.rec;
  if (source == FlagsSource::kUnknown) {
    setUnknownFlags(&rec);
  } else {
    rec.open_flags = flags;
    rec.flags_source = static_cast<uint8_t>(source);
  }
  out->push_back(rec);
  erase(it);
  // An inferred O_RDONLY stays upgradable by a late write-close for kLateCloseNs.
  if (source == FlagsSource::kInferred && (flags & O_ACCMODE) == O_RDONLY) {
    uint64_t id = insert(rec, State::kReported, now_ns);
    setDue(id, &entries_.at(id), now_ns + kLateCloseNs);
    if (reported_count_ > kMaxReported) dropOldest(State::kReported, out);
  }
}

void PendingFlags::dropOldest(State state, std::vector<CaptureRecord>* out) {
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    bool reported = it->second.state == State::kReported;
    if (reported != (state == State::kReported)) continue;
    if (reported) {
      erase(it);  // already reported: it only stops being upgradable
    } else {
      counters_.pushed_out++;
      report(it, 0, FlagsSource::kUnknown, 0, out);
    }
    return;
  }
}

void PendingFlags::add(const CaptureRecord& rec, Probed first, uint64_t cpu_mark, uint64_t now_ns,
                       uint64_t drained_epoch, std::vector<CaptureRecord>* out) {
  counters_.waited++;
  uint64_t id = insert(rec, State::kWaiting, now_ns);
  Entry& e = entries_.at(id);
  e.cpu_mark = cpu_mark;
  by_tid_[rec.host_tid].push_back(id);
  if (first == Probed::kClosed) {
    markClosed(id, &e, drained_epoch);
  } else {
    scheduleNext(id, &e);
  }
  if (waiting_count_ > kMaxWaiting) dropOldest(State::kWaiting, out);
}

bool PendingFlags::writeClosed(uint64_t dev, uint64_t ino, int32_t pid, uint64_t now_ns,
                               std::vector<CaptureRecord>* out) {
  auto f = by_file_.find(Key{dev, ino, pid});
  if (f == by_file_.end()) return false;
  std::vector<uint64_t> ids = f->second;  // report() edits the list
  for (State want : {State::kWaiting, State::kClosed, State::kReported}) {
    for (uint64_t id : ids) {
      auto it = entries_.find(id);
      if (it == entries_.end() || it->second.state != want) continue;
      if (want == State::kReported) {
        CaptureRecord again = it->second.rec;
        again.open_flags = O_RDWR;
        again.flags_source = static_cast<uint8_t>(FlagsSource::kInferred);
        out->push_back(again);
        counters_.reemitted++;
        erase(it);
      } else {
        counters_.write_close++;
        report(it, O_RDWR, FlagsSource::kInferred, now_ns, out);
      }
      return true;
    }
  }
  return false;
}

void PendingFlags::poll(uint64_t now_ns, uint64_t drained_epoch, const Probe& probe,
                        std::vector<CaptureRecord>* out) {
  // Records past their open whose write-close, if any, has been read by now: one more look
  // for the fd (a thread seen making a later open has installed it, if it still holds it),
  // else it was closed read-only.
  for (auto c = closed_.begin(); c != closed_.end();) {
    auto it = entries_.find(*c++);
    if (it == entries_.end() || drained_epoch <= it->second.closed_epoch) continue;
    int32_t flags = 0, fd = -1;
    if (probe(it->second.rec, &it->second.cpu_mark, &flags, &fd) == Probed::kFound) {
      counters_.late_fdinfo++;
      it->second.rec.return_value = fd;
      report(it, flags, FlagsSource::kFdinfo, now_ns, out);
      continue;
    }
    counters_.closed++;
    report(it, O_RDONLY, FlagsSource::kInferred, now_ns, out);
  }
  while (!due_.empty() && due_.begin()->first <= now_ns) {
    uint64_t id = due_.begin()->second;
    auto it = entries_.find(id);
    if (it == entries_.end()) {  // cannot happen: erase() removes an entry's deadline
      due_.erase(due_.begin());
      continue;
    }
    Entry& e = it->second;
    if (e.state == State::kReported) {  // no longer upgradable
      erase(it);
      continue;
    }
    int32_t flags = 0, fd = -1;
    Probed found = probe(e.rec, &e.cpu_mark, &flags, &fd);
    if (found == Probed::kFound) {
      counters_.late_fdinfo++;
      e.rec.return_value = fd;
      report(it, flags, FlagsSource::kFdinfo, now_ns, out);
    } else if (found == Probed::kClosed) {
      markClosed(id, &e, drained_epoch);
    } else if (!scheduleNext(id, &e)) {
      counters_.timed_out++;
      report(it, 0, FlagsSource::kUnknown, now_ns, out);
    }
  }
}

void PendingFlags::flush(std::vector<CaptureRecord>* out) {
  while (!entries_.empty()) {
    auto it = entries_.begin();
    if (it->second.state == State::kReported) {
      erase(it);
    } else {
      report(it, 0, FlagsSource::kUnknown, 0, out);
    }
  }
}

uint64_t PendingFlags::nextDeadline() const {
  if (!closed_.empty()) return 0;
  return due_.empty() ? UINT64_MAX : due_.begin()->first;
}

}  // namespace pmg
