#include "proc_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "unique_fd.h"

namespace pmg {

bool readSmallFile(const std::string& path, std::string* out, size_t max) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return false;
  out->clear();
  char buf[4096];
  while (out->size() < max) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) break;
    out->append(buf, static_cast<size_t>(n));
  }
  if (out->size() > max) out->resize(max);
  return true;
}

bool readLinkAt(int dirfd, const std::string& path, std::string* out) {
  char buf[4096];
  ssize_t n = ::readlinkat(dirfd, path.c_str(), buf, sizeof buf);
  if (n < 0 || static_cast<size_t>(n) >= sizeof buf) return false;
  out->assign(buf, static_cast<size_t>(n));
  return true;
}

uint64_t nsInodeOf(const std::string& link_target) {
  size_t open = link_target.find(":[");
  if (open == std::string::npos || link_target.back() != ']') return 0;
  uint64_t ino = 0;
  std::string digits = link_target.substr(open + 2, link_target.size() - open - 3);
  return parseDecimal(digits, &ino) ? ino : 0;
}

bool parseDecimal(const std::string& s, uint64_t* out) {
  if (s.empty() || s.size() > 19) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = v;
  return true;
}

bool fieldValue(const std::string& text, const char* key, std::string* out) {
  size_t klen = std::strlen(key);
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    if (text.compare(pos, klen, key) == 0 && pos + klen < end && text[pos + klen] == ':') {
      size_t b = pos + klen + 1;
      while (b < end && (text[b] == ' ' || text[b] == '\t')) ++b;
      size_t e = end;
      while (e > b && (text[e - 1] == ' ' || text[e - 1] == '\t')) --e;
      out->assign(text, b, e - b);
      return true;
    }
    pos = end + 1;
  }
  return false;
}

}  // namespace pmg
