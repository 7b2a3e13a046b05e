#include "io_table.h"

namespace pmg {

IoTable::Added IoTable::add(const CaptureRecord& open, uint64_t opener_start, bool* first_on_file) {
  *first_on_file = false;
  Key key = keyOf(open);
  if (entries_.count(key)) return Added::kAlready;
  if (entries_.size() >= kMaxEntries) return Added::kFull;
  Entry e;
  e.open = open;
  e.opener_start = opener_start;
  entries_.emplace(key, e);
  *first_on_file = files_[key.file]++ == 0;
  return Added::kTracked;
}

bool IoTable::count(const Key& key, bool access, bool modify) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return false;
  if (access) it->second.reads++;
  if (modify) it->second.writes++;
  return true;
}

bool IoTable::end(const Key& key, IoEnd how, uint64_t now_ns, Ended* out) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return false;
  erase(it, how, now_ns, out);
  return true;
}

void IoTable::endAfterDrain(const Key& key, IoEnd how, uint64_t drained_epoch, uint64_t seen_ns) {
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.ending != IoEnd::kUnknown) return;
  it->second.ending = how;
  it->second.ending_epoch = drained_epoch;
  it->second.ending_ns = seen_ns;
  ending_.insert(key);
}

void IoTable::endOpenerAfterDrain(int32_t tgid, IoEnd how, uint64_t drained_epoch,
                                  uint64_t seen_ns) {
  for (auto it = entries_.lower_bound(Key{tgid, FileKey{0, 0}});
       it != entries_.end() && it->first.tgid == tgid; ++it)
    endAfterDrain(it->first, how, drained_epoch, seen_ns);
}

void IoTable::settle(uint64_t drained_epoch, Ended* out) {
  for (auto k = ending_.begin(); k != ending_.end();) {
    auto it = entries_.find(*k++);
    if (it == entries_.end() || drained_epoch <= it->second.ending_epoch) continue;
    erase(it, it->second.ending, it->second.ending_ns,
          out);  // erases its key from ending_ (k is past it)
  }
}

void IoTable::endAll(IoEnd how, uint64_t now_ns, Ended* out) {
  while (!entries_.empty()) {
    auto it = entries_.begin();
    const Entry& e = it->second;
    if (e.ending != IoEnd::kUnknown) {
      erase(it, e.ending, e.ending_ns, out);
    } else {
      erase(it, how, now_ns, out);
    }
  }
}

std::map<int32_t, uint64_t> IoTable::openers() const {
  std::map<int32_t, uint64_t> out;
  for (const auto& [key, e] : entries_) out.emplace(key.tgid, e.opener_start);
  return out;
}

std::vector<std::pair<IoTable::Key, int32_t>> IoTable::entriesOf(int32_t tgid) const {
  std::vector<std::pair<Key, int32_t>> out;
  for (auto it = entries_.lower_bound(Key{tgid, FileKey{0, 0}});
       it != entries_.end() && it->first.tgid == tgid; ++it)
    out.emplace_back(it->first, it->second.open.return_value);
  return out;
}

void IoTable::erase(std::map<Key, Entry>::iterator it, IoEnd how, uint64_t now_ns, Ended* out) {
  const Entry& e = it->second;
  out->summaries.push_back(summary(e.open, e.reads, e.writes, how, now_ns));
  auto f = files_.find(it->first.file);
  if (f != files_.end() && --f->second == 0) {
    files_.erase(f);
    out->unused_files.push_back(it->first.file);
  }
  ending_.erase(it->first);
  entries_.erase(it);
}

CaptureRecord IoTable::summary(const CaptureRecord& open, uint64_t reads, uint64_t writes,
                               IoEnd how, uint64_t end_ns) {
  CaptureRecord rec = open;
  rec.record_kind = static_cast<uint8_t>(RecordKind::kIoSummary);
  rec.io_end = static_cast<uint8_t>(how);
  rec.io_fd = open.return_value >= 0 ? static_cast<uint32_t>(open.return_value) : 0;
  rec.io_reads = reads;
  rec.io_writes = writes;
  rec.io_bytes_read = 0;
  rec.io_bytes_written = 0;
  rec.record_flags |= kIoBytesUnknown;
  rec.io_open_monotonic_ns = open.monotonic_ns;
  // An end read in the same batch as its open is stamped with the open's moment at the least.
  rec.monotonic_ns = end_ns > open.monotonic_ns ? end_ns : open.monotonic_ns;
  rec.timestamp_ns = rec.monotonic_ns + (open.timestamp_ns - open.monotonic_ns);
  return rec;
}

}  // namespace pmg
