// Observed access on the fanotify backend, its bookkeeping (no syscalls, unit-tested in
// test/native/cpp/io_table_test.cc): one entry per (opener process, mem file) that the
// watcher tracks, with the open record it follows, how many access and modify events that
// opener caused on that file, and how it ended. io_marks.h does the kernel side (inode marks,
// the files it holds, the look-ups of openers).
//
// fanotify events carry the opener's pid, not its fd: an opener holding several fds on one mem
// file has one entry, the first tracked open's, whose counts cover all of them and which ends
// at the first close of that file by that opener. The kernel merges an event with an identical
// one still queued (same file, same pid), so counts are events seen: a lower bound of calls.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <tuple>
#include <vector>

#include "../record.h"

namespace pmg {

class IoTable {
 public:
  // Like the eBPF backend's tracking map (PMG_IO_MAX_TRACKED): beyond it opens go untracked.
  static constexpr size_t kMaxEntries = 4096;

  struct FileKey {
    uint64_t dev, ino;
    bool operator<(const FileKey& o) const { return std::tie(dev, ino) < std::tie(o.dev, o.ino); }
    bool operator==(const FileKey& o) const { return dev == o.dev && ino == o.ino; }
  };
  struct Key {
    int32_t tgid;
    FileKey file;
    bool operator<(const Key& o) const {
      return std::tie(tgid, file.dev, file.ino) < std::tie(o.tgid, o.file.dev, o.file.ino);
    }
  };
  // What ended entries leave behind: their summaries, and the files no entry is left on (the
  // caller unmarks them).
  struct Ended {
    std::vector<CaptureRecord> summaries;
    std::vector<FileKey> unused_files;
  };
  enum class Added {
    kTracked,  // a new entry (`first_on_file`: no other entry is on that file)
    kAlready,  // that opener's entry on that file goes on: the counts cover both opens
    kFull,     // kMaxEntries are tracked
  };

  static Key keyOf(const CaptureRecord& open) {
    return Key{open.host_pid, FileKey{open.dev, open.inode}};
  }
  // Starts tracking the open record `open` (its host_pid, dev, inode, return_value fd).
  // `opener_start`: the opener's start (clock ticks), to tell it from a later process that
  // got its pid.
  Added add(const CaptureRecord& open, uint64_t opener_start, bool* first_on_file);
  bool tracked(const Key& key) const { return entries_.count(key) != 0; }
  bool fileTracked(const FileKey& file) const { return files_.count(file) != 0; }
  // Counts one event of the opener on the file; false if it has no entry.
  bool count(const Key& key, bool access, bool modify);
  // Ends the entry now (its summary goes into `out`); false if it has none.
  bool end(const Key& key, IoEnd how, uint64_t now_ns, Ended* out);
  // Ends the entry once the kernel queue has been read empty after `drained_epoch`: events
  // the opener caused before this moment are counted first (and a close among them ends it
  // as that close says).
  // `seen_ns`: when the end was seen, the summary's end time.
  void endAfterDrain(const Key& key, IoEnd how, uint64_t drained_epoch, uint64_t seen_ns);
  // endAfterDrain for every entry of process `tgid`.
  void endOpenerAfterDrain(int32_t tgid, IoEnd how, uint64_t drained_epoch, uint64_t seen_ns);
  // Ends the entries whose endAfterDrain is due (the queue was read empty since).
  void settle(uint64_t drained_epoch, Ended* out);
  bool settling() const { return !ending_.empty(); }
  // Every entry ends: at stop, `how` (kWatcherStopped) unless an end was already seen.
  void endAll(IoEnd how, uint64_t now_ns, Ended* out);
  // Forgets every entry without a summary (a new run).
  void clear() {
    entries_.clear();
    files_.clear();
    ending_.clear();
  }
  // The tracked openers and their start times (one per process).
  std::map<int32_t, uint64_t> openers() const;
  // The entries of process `tgid` (its fd on each file).
  std::vector<std::pair<Key, int32_t>> entriesOf(int32_t tgid) const;
  size_t size() const { return entries_.size(); }
  size_t files() const { return files_.size(); }

  // The summary record of an open: its opener, target and path, the counts, how and when it
  // ended; bytes unknown (kIoBytesUnknown). Its realtime stamp keeps the open's offset to
  // monotonic time, so that the summary's timestamp minus the open's is the duration.
  static CaptureRecord summary(const CaptureRecord& open, uint64_t reads, uint64_t writes,
                               IoEnd how, uint64_t end_ns);

 private:
  struct Entry {
    CaptureRecord open;
    uint64_t opener_start;
    uint64_t reads = 0, writes = 0;
    IoEnd ending = IoEnd::kUnknown;  // set by endAfterDrain
    uint64_t ending_epoch = 0, ending_ns = 0;
  };
  void erase(std::map<Key, Entry>::iterator it, IoEnd how, uint64_t now_ns, Ended* out);

  std::map<Key, Entry> entries_;     // by opener first: one process's entries are adjacent
  std::map<FileKey, size_t> files_;  // entries per file
  std::set<Key> ending_;             // entries waiting for a drained queue to end
};

}  // namespace pmg
