// libFuzzer harness for the audit record parser and event assembler (native/audit/records.h):
// the text of every record comes from the kernel, but carries names, paths and proctitles that
// any process chooses. Input: records, one per line; a line's first byte picks the record type.
// Checks, besides "no crash, no undefined behaviour" (ASan and UBSan): the assembler stays within
// its bound, and what it completes is consistent. Run by scripts/fuzz.mjs.
#include <linux/audit.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "audit/records.h"

using pmg::audit::Assembler;
using pmg::audit::AuditEvent;

static void require(bool ok) {
  if (!ok) std::abort();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const uint16_t kTypes[] = {AUDIT_SYSCALL, AUDIT_CWD, AUDIT_PATH, AUDIT_PROCTITLE,
                                    AUDIT_EOE,     AUDIT_URINGOP};
  constexpr size_t kMaxPending = 8;
  Assembler a(kMaxPending, 1000, [](const AuditEvent& ev) { return ev.syscall != 59; });
  std::vector<AuditEvent> done;
  uint64_t incomplete = 0;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  int64_t now = 0;
  while (!in.empty()) {
    size_t nl = in.find('\n');
    std::string_view line = in.substr(0, nl);
    in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
    if (line.empty()) continue;
    uint16_t type = kTypes[static_cast<uint8_t>(line[0]) % 6];
    std::string_view text = line.substr(1);
    uint64_t serial = 0;
    std::string_view body, raw;
    if (pmg::audit::parseHeader(text, &serial, &body)) {
      for (std::string_view key : {"pid", "name", "exe", "comm", "proctitle", "a2", "cwd"})
        if (pmg::audit::findField(body, key, &raw)) pmg::audit::decodeValue(raw);
    }
    a.feed(type, text, now += 7, &done, &incomplete);
    require(a.pending() <= kMaxPending);
  }
  a.expire(now + 5000, &done, &incomplete);
  require(a.pending() == 0);
  for (const AuditEvent& ev : done) require(ev.have_syscall || ev.arch == 0 || !ev.paths.empty());
  return 0;
}
