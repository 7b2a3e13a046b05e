// Parsing of kernel audit records ("audit(sec.msec:serial): key=value ...") and assembly of
// the records of one syscall event (SYSCALL, CWD, PATH..., PROCTITLE, EOE) by serial number.
// An io_uring operation starts with a URINGOP record instead of SYSCALL.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace pmg::audit {

// Header of a record: returns false if `text` does not start with "audit(sec.msec:serial): ".
bool parseHeader(std::string_view text, uint64_t* serial, std::string_view* body);
// Raw value of `key` in a record body ("a=1 b=\"x\""), found at a token boundary.
bool findField(std::string_view body, std::string_view key, std::string_view* raw);
// A string value as the kernel prints it: "quoted", hex-encoded (anything with spaces,
// quotes or control bytes), or (null)/(none) for nothing.
std::string decodeValue(std::string_view raw);

struct PathItem {
  int item = -1;
  bool has_name = false;
  std::string name;  // decoded, as passed to the syscall
  uint64_t inode = 0;
  uint64_t dev = 0;  // makedev(major, minor)
  uint32_t mode = 0;
  std::string nametype;
};

// The records of one syscall event, merged.
struct AuditEvent {
  uint64_t serial = 0;
  int64_t first_ms = 0;  // CLOCK_MONOTONIC ms when its first record arrived
  bool have_syscall = false, have_eoe = false;
  uint32_t arch = 0;  // 0 for an io_uring operation (URINGOP record)
  int syscall = -1;   // syscall number, or io_uring opcode
  bool success = false;
  int64_t exit = 0;
  uint64_t args[4] = {0, 0, 0, 0};
  int32_t pid = 0, ppid = 0;
  uint32_t uid = 0, gid = 0;
  std::string comm, exe, key;
  bool have_cwd = false;
  std::string cwd;
  std::vector<PathItem> paths;
};

class Assembler {
 public:
  // `wanted` decides from the SYSCALL record (arch, syscall, success, exit, args and pid are
  // filled) whether an event is assembled at all; records of other serials are dropped.
  Assembler(size_t max_pending, int64_t max_age_ms, std::function<bool(const AuditEvent&)> wanted)
      : max_pending_(max_pending), max_age_ms_(max_age_ms), wanted_(std::move(wanted)) {}

  // Feeds one record (netlink message type and text). Completed events go to `done`; an
  // incomplete event pushed out by the max_pending bound is counted in `*incomplete` (or goes to
  // `done` if it has its SYSCALL and PATH). Returns false if the record could not be parsed.
  bool feed(uint16_t type, std::string_view text, int64_t now_ms, std::vector<AuditEvent>* done,
            uint64_t* incomplete);
  // Gives up on events older than max_age: those with a SYSCALL and a PATH record go to `done`
  // anyway; the others are counted in `*incomplete`.
  void expire(int64_t now_ms, std::vector<AuditEvent>* done, uint64_t* incomplete);
  size_t pending() const { return pending_.size(); }

 private:
  void retire(std::map<uint64_t, AuditEvent>::iterator it, std::vector<AuditEvent>* done,
              uint64_t* incomplete);

  size_t max_pending_;
  int64_t max_age_ms_;
  std::function<bool(const AuditEvent&)> wanted_;
  std::map<uint64_t, AuditEvent> pending_;
};

}  // namespace pmg::audit
