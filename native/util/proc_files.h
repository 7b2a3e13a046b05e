// Small helpers for reading procfs files and links without stdio: one open/read/close each,
// every result checked, nothing thrown (capture threads must keep running).
#pragma once

#include <cstdint>
#include <string>

namespace pmg {

// Reads up to `max` bytes of a (small) file. False if it could not be opened or read.
bool readSmallFile(const std::string& path, std::string* out, size_t max = 64 * 1024);
// readlink(2) into a std::string. False on error.
bool readLinkAt(int dirfd, const std::string& path, std::string* out);
inline bool readLink(const std::string& path, std::string* out) {
  return readLinkAt(-100 /* AT_FDCWD */, path, out);
}
// Whether fd `fd` of process `pid` refers now to the file (st_dev `dev`, inode `ino`).
bool fdRefersTo(int32_t pid, uint32_t fd, uint64_t dev, uint64_t ino);
// Inode number of a namespace link target such as "mnt:[4026531841]"; 0 if not one.
uint64_t nsInodeOf(const std::string& link_target);
// Parses a whole decimal string (no sign, no junk). False if it is not one.
bool parseDecimal(const std::string& s, uint64_t* out);
// Value after "key:" on the line of `text` that starts with it (whitespace trimmed).
bool fieldValue(const std::string& text, const char* key, std::string* out);

}  // namespace pmg
