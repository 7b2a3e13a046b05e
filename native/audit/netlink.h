// NETLINK_AUDIT plumbing: one socket, requests with acknowledgements, status get/set and the
// rule list. No auditctl/libaudit: the kernel ABI from linux/audit.h only.
#pragma once

#include <linux/audit.h>
#include <linux/netlink.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "../util/unique_fd.h"

namespace pmg::audit {

// A rule as the kernel stores it: struct audit_rule_data followed by its string buffer.
struct RuleBlob {
  std::vector<uint8_t> bytes;
  const audit_rule_data* data() const {
    return reinterpret_cast<const audit_rule_data*>(bytes.data());
  }
  // The AUDIT_FILTERKEY string(s) of the rule; empty if it has none.
  std::string key() const;
};

// Builds an `always` rule for a filter list (syscall exit by default, or
// AUDIT_FILTER_URING_EXIT) field by field, in the encoding auditctl uses.
class RuleBuilder {
 public:
  explicit RuleBuilder(uint32_t filter_list = AUDIT_FILTER_EXIT);
  RuleBuilder& syscall(int nr);
  RuleBuilder& field(uint32_t field, uint32_t op, uint32_t value);
  RuleBuilder& stringField(uint32_t field, const std::string& value);  // op AUDIT_EQUAL
  RuleBlob build() const;

 private:
  audit_rule_data* head() { return reinterpret_cast<audit_rule_data*>(head_.data()); }
  std::vector<uint8_t> head_;  // one audit_rule_data (it ends in a flexible array member)
  std::string buf_;
};

// Audit records (types >= AUDIT_FIRST_USER_MSG) come one per datagram, and on the unicast
// (audit daemon) path the kernel sets nlmsg_len to the payload length only, a quirk auditd
// relies on. So a record's text is everything after the header, whatever nlmsg_len says.
// Calls on_record(type, text without trailing NULs) for a record datagram, else on_control for
// each well-formed netlink message in it.
void forEachMessage(const uint8_t* buf, size_t n,
                    const std::function<void(uint16_t, std::string_view)>& on_record,
                    const std::function<void(const nlmsghdr*)>& on_control);

class NetlinkAudit {
 public:
  // Opens the socket (closing one open before); returns 0 or -errno.
  int open();
  void close() { fd_.reset(); }
  int fd() const { return fd_.get(); }
  // Audit records read while waiting for a reply (on a daemon or multicast socket) go here
  // instead of being dropped.
  void setPassthrough(std::function<void(uint16_t, std::string_view)> f) {
    passthrough_ = std::move(f);
  }

  // Sends one request and waits for its acknowledgement (NLMSG_ERROR). Returns 0 or -errno.
  // Unrelated messages read meanwhile (audit records on a daemon socket) are skipped.
  int request(uint16_t type, const void* payload, size_t len);
  int getStatus(audit_status* out);
  int setStatus(const audit_status& s) { return request(AUDIT_SET, &s, sizeof(s)); }
  int listRules(std::vector<RuleBlob>* out);
  int addRule(const RuleBlob& r) { return request(AUDIT_ADD_RULE, r.bytes.data(), r.bytes.size()); }
  int delRule(const RuleBlob& r) { return request(AUDIT_DEL_RULE, r.bytes.data(), r.bytes.size()); }

 private:
  int send(uint16_t type, uint16_t flags, const void* payload, size_t len, uint32_t* seq);
  // Reads one datagram from the kernel with a 2 s deadline; returns bytes or -errno.
  int recvFor(std::vector<uint8_t>* buf);
  int collect(uint32_t seq, const std::function<bool(const nlmsghdr*)>& on_msg);

  UniqueFd fd_;
  uint32_t seq_ = 0;
  std::function<void(uint16_t, std::string_view)> passthrough_;
};

}  // namespace pmg::audit
