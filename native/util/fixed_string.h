// Copies a std::string into a fixed char array of a CaptureRecord: always NUL-terminated, the
// rest of the field zeroed (a record crosses to JavaScript byte for byte).
#pragma once

#include <cstddef>
#include <cstring>
#include <string>

namespace pmg {

// False if `src` did not fit and was cut (the caller sets kPathTruncated where it matters).
template <size_t N>
bool copyFixed(char (&dst)[N], const std::string& src) {
  static_assert(N > 0, "a fixed field has room for its NUL");
  size_t n = src.size() < N ? src.size() : N - 1;
  std::memcpy(dst, src.data(), n);
  std::memset(dst + n, 0, N - n);
  return src.size() < N;
}

}  // namespace pmg
