// libFuzzer harness for the mem path parser and path joining (native/util/mem_path.h), the
// code that reads paths hostile processes choose. Input: base NUL name. Checks, besides
// "no crash, no undefined behaviour" (built with ASan and UBSan): what parses is in range and
// consistent, and joining is idempotent and never leaves "." or "..". Run by scripts/fuzz.mjs.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "util/mem_path.h"

static void require(bool ok) {
  if (!ok) std::abort();
}

static void checkParsed(std::string_view path, pmg::SelfNames names) {
  pmg::MemPath m;
  if (!pmg::parseMemPath(path, names, &m)) return;
  require(path.size() >= 5);  // at least "1/mem"
  require(m.self || (m.pid > 0 && m.pid <= pmg::kMaxPid));
  require(!m.self || m.pid == 0);
  require(m.task == (m.tid != 0) || m.thread_self);
  require(m.tid >= 0 && m.tid <= pmg::kMaxPid);
  require(!m.thread_self || (m.self && m.task));
  require(names == pmg::SelfNames::kAccept || !m.self);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t nul = in.find('\0');
  std::string_view base = in.substr(0, nul);
  std::string_view name = nul == std::string_view::npos ? std::string_view() : in.substr(nul + 1);
  checkParsed(in, pmg::SelfNames::kAccept);
  checkParsed(in, pmg::SelfNames::kReject);
  std::string joined = pmg::joinPath(base, name);
  require(!joined.empty() && joined[0] == '/');
  require(joined.find("/./") == std::string::npos && joined.find("/../") == std::string::npos);
  require(pmg::joinPath("/", joined) == joined);  // idempotent
  checkParsed(joined, pmg::SelfNames::kAccept);
  return 0;
}
