// Copies a std::string into a fixed char array of a CaptureRecord, always NUL-terminated.
#pragma once

#include <cstdio>
#include <string>

namespace pmg {

// False if `src` did not fit and was cut (the caller sets kPathTruncated where it matters).
template <size_t N>
bool copyFixed(char (&dst)[N], const std::string& src) {
  std::snprintf(dst, N, "%s", src.c_str());
  return src.size() < N;
}

}  // namespace pmg
