#include "netlink.h"

#include <errno.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "../util/clock.h"

namespace pmg::audit {

namespace {

constexpr int kReplyTimeoutMs = 2000;
constexpr size_t kRecvBuf = 16384;

}  // namespace

void forEachMessage(const uint8_t* buf, size_t n,
                    const std::function<void(uint16_t, std::string_view)>& on_record,
                    const std::function<void(const nlmsghdr*)>& on_control) {
  if (n < NLMSG_HDRLEN) return;
  auto* h = reinterpret_cast<const nlmsghdr*>(buf);
  if (h->nlmsg_type >= AUDIT_FIRST_USER_MSG) {
    std::string_view text(reinterpret_cast<const char*>(buf) + NLMSG_HDRLEN, n - NLMSG_HDRLEN);
    while (!text.empty() && text.back() == '\0') text.remove_suffix(1);
    on_record(h->nlmsg_type, text);
    return;
  }
  int len = static_cast<int>(n);
  for (; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) on_control(h);
}

std::string RuleBlob::key() const {
  if (bytes.size() < sizeof(audit_rule_data)) return {};
  const audit_rule_data* r = data();
  size_t off = 0;
  std::string key;
  for (uint32_t i = 0; i < r->field_count && i < AUDIT_MAX_FIELDS; i++) {
    switch (r->fields[i]) {
      // Fields whose value is a length into buf (kernel audit_data_to_entry).
      case AUDIT_SUBJ_USER:
      case AUDIT_SUBJ_ROLE:
      case AUDIT_SUBJ_TYPE:
      case AUDIT_SUBJ_SEN:
      case AUDIT_SUBJ_CLR:
      case AUDIT_OBJ_USER:
      case AUDIT_OBJ_ROLE:
      case AUDIT_OBJ_TYPE:
      case AUDIT_OBJ_LEV_LOW:
      case AUDIT_OBJ_LEV_HIGH:
      case AUDIT_WATCH:
      case AUDIT_DIR:
      case AUDIT_FILTERKEY:
      case AUDIT_EXE: {
        uint32_t len = r->values[i];
        if (off + len > r->buflen || sizeof(audit_rule_data) + off + len > bytes.size()) {
          return key;
        }
        if (r->fields[i] == AUDIT_FILTERKEY) key.assign(r->buf + off, len);
        off += len;
        break;
      }
      default:
        break;
    }
  }
  return key;
}

RuleBuilder::RuleBuilder(uint32_t filter_list) : head_(sizeof(audit_rule_data), 0) {
  head()->flags = filter_list;
  head()->action = AUDIT_ALWAYS;
}

RuleBuilder& RuleBuilder::syscall(int nr) {
  head()->mask[nr / 32] |= 1u << (nr % 32);
  return *this;
}

RuleBuilder& RuleBuilder::field(uint32_t field, uint32_t op, uint32_t value) {
  audit_rule_data* h = head();
  if (h->field_count < AUDIT_MAX_FIELDS) {
    uint32_t i = h->field_count++;
    h->fields[i] = field;
    h->fieldflags[i] = op;
    h->values[i] = value;
  }
  return *this;
}

RuleBuilder& RuleBuilder::stringField(uint32_t f, const std::string& value) {
  field(f, AUDIT_EQUAL, static_cast<uint32_t>(value.size()));
  buf_ += value;
  return *this;
}

RuleBlob RuleBuilder::build() const {
  RuleBlob blob;
  blob.bytes = head_;
  blob.bytes.insert(blob.bytes.end(), buf_.begin(), buf_.end());
  reinterpret_cast<audit_rule_data*>(blob.bytes.data())->buflen =
      static_cast<uint32_t>(buf_.size());
  return blob;
}

int NetlinkAudit::open() {
  fd_.reset();
  UniqueFd fd(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT));
  if (!fd.valid()) return -errno;
  sockaddr_nl addr{};
  addr.nl_family = AF_NETLINK;
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return -errno;
  fd_ = std::move(fd);
  return 0;
}

int NetlinkAudit::send(uint16_t type, uint16_t flags, const void* payload, size_t len,
                       uint32_t* seq) {
  if (!fd_.valid()) return -EBADF;
  std::vector<uint8_t> msg(NLMSG_SPACE(len), 0);
  auto* nlh = reinterpret_cast<nlmsghdr*>(msg.data());
  nlh->nlmsg_len = static_cast<uint32_t>(NLMSG_LENGTH(len));
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = flags;
  nlh->nlmsg_seq = *seq = ++seq_;
  if (len) std::memcpy(NLMSG_DATA(nlh), payload, len);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  for (;;) {
    ssize_t n = sendto(fd_.get(), msg.data(), nlh->nlmsg_len, 0,
                       reinterpret_cast<sockaddr*>(&kernel), sizeof(kernel));
    if (n >= 0) return 0;
    if (errno != EINTR) return -errno;
  }
}

int NetlinkAudit::recvFor(std::vector<uint8_t>* buf) {
  int64_t deadline = monotonicMs() + kReplyTimeoutMs;
  buf->resize(kRecvBuf);
  for (;;) {
    int64_t left = deadline - monotonicMs();
    if (left <= 0) return -ETIMEDOUT;
    pollfd p{fd_.get(), POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(left));
    if (r < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    if (r == 0) return -ETIMEDOUT;
    sockaddr_nl from{};
    socklen_t fl = sizeof(from);
    ssize_t n = recvfrom(fd_.get(), buf->data(), buf->size(), MSG_DONTWAIT,
                         reinterpret_cast<sockaddr*>(&from), &fl);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == ENOBUFS) continue;
      return -errno;
    }
    if (from.nl_pid != 0) continue;  // only the kernel talks to us
    return static_cast<int>(n);
  }
}

// Walks the replies to `seq`: calls on_msg for each data message; stops at NLMSG_ERROR
// (returns its error), NLMSG_DONE (0) or when on_msg returns true (0).
int NetlinkAudit::collect(uint32_t seq, const std::function<bool(const nlmsghdr*)>& on_msg) {
  std::vector<uint8_t> buf;
  for (;;) {
    int n = recvFor(&buf);
    if (n < 0) return n;
    int result = 1;  // 1: keep reading
    forEachMessage(
        buf.data(), static_cast<size_t>(n),
        [&](uint16_t type, std::string_view text) {
          if (passthrough_) passthrough_(type, text);
        },
        [&](const nlmsghdr* h) {
          if (result != 1 || h->nlmsg_seq != seq) return;  // a stale reply
          if (h->nlmsg_type == NLMSG_ERROR) {
            result = h->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr))
                         ? -EPROTO
                         : static_cast<const nlmsgerr*>(NLMSG_DATA(h))->error;
          } else if (h->nlmsg_type == NLMSG_DONE || on_msg(h)) {
            result = 0;
          }
        });
    if (result != 1) return result;
  }
}

int NetlinkAudit::request(uint16_t type, const void* payload, size_t len) {
  uint32_t seq;
  int r = send(type, NLM_F_REQUEST | NLM_F_ACK, payload, len, &seq);
  if (r < 0) return r;
  return collect(seq, [](const nlmsghdr*) { return false; });
}

int NetlinkAudit::getStatus(audit_status* out) {
  // No NLM_F_ACK: the kernel may send the ack before the reply; wait for the reply itself.
  uint32_t seq;
  int r = send(AUDIT_GET, NLM_F_REQUEST, nullptr, 0, &seq);
  if (r < 0) return r;
  bool got = false;
  r = collect(seq, [&](const nlmsghdr* h) {
    if (h->nlmsg_type != AUDIT_GET) return false;
    std::memset(out, 0, sizeof(*out));
    size_t n = h->nlmsg_len - NLMSG_LENGTH(0);
    std::memcpy(out, NLMSG_DATA(h), n < sizeof(*out) ? n : sizeof(*out));
    got = true;
    return true;
  });
  if (r < 0) return r;
  return got ? 0 : -EPROTO;
}

int NetlinkAudit::listRules(std::vector<RuleBlob>* out) {
  out->clear();
  uint32_t seq;
  int r = send(AUDIT_LIST_RULES, NLM_F_REQUEST, nullptr, 0, &seq);
  if (r < 0) return r;
  return collect(seq, [&](const nlmsghdr* h) {
    if (h->nlmsg_type != AUDIT_LIST_RULES) return false;
    size_t n = h->nlmsg_len - NLMSG_LENGTH(0);
    if (n < sizeof(audit_rule_data)) return false;
    RuleBlob blob;
    const auto* p = static_cast<const uint8_t*>(NLMSG_DATA(h));
    blob.bytes.assign(p, p + n);
    out->push_back(std::move(blob));
    return false;
  });
}

}  // namespace pmg::audit
