#include "netlink.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/connector.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/taskstats.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "procfs.h"

namespace pmg {
namespace netlink {
namespace {

std::string errnoText(const char* what) { return std::string(what) + ": " + strerror(errno); }

bool sendMcastOp(int fd, proc_cn_mcast_op op) {
  alignas(NLMSG_ALIGNTO) char buf[NLMSG_SPACE(sizeof(cn_msg) + sizeof(op))] = {};
  auto* nlh = reinterpret_cast<nlmsghdr*>(buf);
  nlh->nlmsg_len = NLMSG_LENGTH(sizeof(cn_msg) + sizeof(op));
  nlh->nlmsg_type = NLMSG_DONE;
  nlh->nlmsg_pid = 0;
  auto* msg = static_cast<cn_msg*>(NLMSG_DATA(nlh));
  msg->id.idx = CN_IDX_PROC;
  msg->id.val = CN_VAL_PROC;
  msg->len = sizeof(op);
  memcpy(msg->data, &op, sizeof(op));
  sockaddr_nl to = {};
  to.nl_family = AF_NETLINK;
  ssize_t r = sendto(fd, buf, nlh->nlmsg_len, 0, reinterpret_cast<sockaddr*>(&to), sizeof(to));
  return r == static_cast<ssize_t>(nlh->nlmsg_len);
}

// Appends one netlink attribute to a message being built in `buf`.
void putAttr(nlmsghdr* nlh, uint16_t type, const void* data, size_t len) {
  auto* a = reinterpret_cast<nlattr*>(reinterpret_cast<char*>(nlh) + NLMSG_ALIGN(nlh->nlmsg_len));
  a->nla_type = type;
  a->nla_len = static_cast<uint16_t>(NLA_HDRLEN + len);
  memcpy(reinterpret_cast<char*>(a) + NLA_HDRLEN, data, len);
  nlh->nlmsg_len = NLMSG_ALIGN(nlh->nlmsg_len) + NLA_ALIGN(a->nla_len);
}

bool sendGenl(int fd, uint16_t family, uint8_t cmd, uint8_t version, uint16_t attr,
              const void* data, size_t len, uint16_t flags = 0) {
  alignas(NLMSG_ALIGNTO) char buf[512] = {};
  if (len > 256) return false;
  auto* nlh = reinterpret_cast<nlmsghdr*>(buf);
  nlh->nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
  nlh->nlmsg_type = family;
  nlh->nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | flags);
  auto* g = static_cast<genlmsghdr*>(NLMSG_DATA(nlh));
  g->cmd = cmd;
  g->version = version;
  putAttr(nlh, attr, data, len);
  sockaddr_nl to = {};
  to.nl_family = AF_NETLINK;
  ssize_t r = sendto(fd, buf, nlh->nlmsg_len, 0, reinterpret_cast<sockaddr*>(&to), sizeof(to));
  return r == static_cast<ssize_t>(nlh->nlmsg_len);
}

// Iterates the attributes in [p, p+len).
template <typename Fn>
void forEachAttr(const char* p, size_t len, Fn fn) {
  while (len >= NLA_HDRLEN) {
    const auto* a = reinterpret_cast<const nlattr*>(p);
    if (a->nla_len < NLA_HDRLEN || a->nla_len > len) return;
    fn(a->nla_type & NLA_TYPE_MASK, p + NLA_HDRLEN, static_cast<size_t>(a->nla_len - NLA_HDRLEN));
    size_t step = NLA_ALIGN(a->nla_len);
    if (step >= len) return;
    p += step;
    len -= step;
  }
}

// Waits (bounded) for the reply to a request on a non-blocking socket.
ssize_t recvReply(int fd, char* buf, size_t cap) {
  for (int i = 0; i < 50; ++i) {
    ssize_t r = recv(fd, buf, cap, 0);
    if (r >= 0) return r;
    if (errno == EINTR) continue;
    if (errno != EAGAIN) return -1;
    pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 20) < 0 && errno != EINTR) return -1;
  }
  errno = ETIMEDOUT;
  return -1;
}

int resolveFamily(int fd, const char* name, std::string* err) {
  if (!sendGenl(fd, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1, CTRL_ATTR_FAMILY_NAME, name,
                strlen(name) + 1)) {
    *err = errnoText("genetlink CTRL_CMD_GETFAMILY send");
    return -1;
  }
  alignas(NLMSG_ALIGNTO) char buf[8192];
  ssize_t n = recvReply(fd, buf, sizeof(buf));
  if (n < 0) {
    *err = errnoText("genetlink CTRL_CMD_GETFAMILY recv");
    return -1;
  }
  int family = -1;
  for (auto* nlh = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(nlh, static_cast<size_t>(n));
       nlh = NLMSG_NEXT(nlh, n)) {
    if (nlh->nlmsg_type == NLMSG_ERROR) {
      auto* e = static_cast<nlmsgerr*>(NLMSG_DATA(nlh));
      *err = std::string("genetlink family ") + name + ": " + strerror(-e->error);
      return -1;
    }
    if (nlh->nlmsg_type != GENL_ID_CTRL) continue;
    const char* p = static_cast<const char*>(NLMSG_DATA(nlh)) + GENL_HDRLEN;
    size_t len = nlh->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN);
    forEachAttr(p, len, [&](uint16_t type, const char* data, size_t dlen) {
      if (type == CTRL_ATTR_FAMILY_ID && dlen >= sizeof(uint16_t)) {
        uint16_t id;
        memcpy(&id, data, sizeof(id));
        family = id;
      }
    });
  }
  if (family < 0) *err = std::string("genetlink family ") + name + " not found";
  return family;
}

// "0-N" from /sys/devices/system/cpu/possible (fallback: the configured CPU count).
std::string possibleCpus() {
  char buf[256];
  UniqueFd dir(open("/sys/devices/system/cpu", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.valid()) {
    long n = procfs::readSmallAt(dir.get(), "possible", buf, sizeof(buf));
    if (n > 0) {
      while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ')) buf[--n] = '\0';
      if (n > 0) return std::string(buf, static_cast<size_t>(n));
    }
  }
  long cpus = sysconf(_SC_NPROCESSORS_CONF);
  return "0-" + std::to_string(cpus > 0 ? cpus - 1 : 0);
}

// Closes `fd` keeping errno: the callers report the errno of the step that failed.
void closeKeepingErrno(UniqueFd* fd) {
  int e = errno;
  fd->reset();
  errno = e;
}

UniqueFd openNetlink(int protocol, uint32_t groups, int rcvbuf, std::string* err) {
  UniqueFd fd(socket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol));
  if (!fd.valid()) {
    *err = errnoText("netlink socket");
    return fd;
  }
  // A deep receive queue absorbs fork storms; beyond the limit recv() reports ENOBUFS.
  if (setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) != 0) {
    (void)setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));  // best effort
  }
  sockaddr_nl sa = {};
  sa.nl_family = AF_NETLINK;
  sa.nl_groups = groups;
  sa.nl_pid = 0;  // kernel assigns a unique port id
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
    *err = errnoText("netlink bind");
    closeKeepingErrno(&fd);
  }
  return fd;
}

}  // namespace

UniqueFd openProcConnector(int rcvbuf, std::string* err) {
  UniqueFd fd = openNetlink(NETLINK_CONNECTOR, CN_IDX_PROC, rcvbuf, err);
  if (fd.valid() && !sendMcastOp(fd.get(), PROC_CN_MCAST_LISTEN)) {
    *err = errnoText("proc connector PROC_CN_MCAST_LISTEN");
    closeKeepingErrno(&fd);
  }
  return fd;
}

void closeProcConnector(UniqueFd* fd) {
  if (!fd->valid()) return;
  (void)sendMcastOp(fd->get(), PROC_CN_MCAST_IGNORE);  // best effort: close() drops the membership
  fd->reset();
}

void parseProcEvents(const char* buf, size_t len, void (*on_event)(void*, const proc_event&),
                     void* ctx) {
  long n = static_cast<long>(len);  // signed: NLMSG_NEXT may step past the end
  for (auto* nlh = reinterpret_cast<const nlmsghdr*>(buf); NLMSG_OK(nlh, n);
       nlh = NLMSG_NEXT(nlh, n)) {
    if (nlh->nlmsg_type == NLMSG_ERROR || nlh->nlmsg_type == NLMSG_NOOP) continue;
    if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(cn_msg))) continue;
    const auto* msg = static_cast<const cn_msg*>(NLMSG_DATA(nlh));
    if (msg->id.idx != CN_IDX_PROC || msg->id.val != CN_VAL_PROC) continue;
    if (nlh->nlmsg_len - NLMSG_LENGTH(sizeof(cn_msg)) < msg->len) continue;
    // Older kernels send shorter events; copy what came into a zeroed struct.
    proc_event ev;
    memset(&ev, 0, sizeof(ev));
    memcpy(&ev, msg->data, msg->len < sizeof(ev) ? msg->len : sizeof(ev));
    on_event(ctx, ev);
  }
}

UniqueFd openTaskstats(int rcvbuf, uint16_t* family, std::string* err) {
  UniqueFd fd = openNetlink(NETLINK_GENERIC, 0, rcvbuf, err);
  if (!fd.valid()) return fd;
  int fam = resolveFamily(fd.get(), TASKSTATS_GENL_NAME, err);
  if (fam < 0) return UniqueFd();
  *family = static_cast<uint16_t>(fam);
  std::string mask = possibleCpus();
  if (!sendGenl(fd.get(), *family, TASKSTATS_CMD_GET, TASKSTATS_GENL_VERSION,
                TASKSTATS_CMD_ATTR_REGISTER_CPUMASK, mask.c_str(), mask.size() + 1, NLM_F_ACK)) {
    *err = errnoText("TASKSTATS register cpumask");
    return UniqueFd();
  }
  // Wait for the ack; exit records may already be queued before it, skip them.
  alignas(NLMSG_ALIGNTO) char buf[8192];
  for (int i = 0; i < 64; ++i) {
    ssize_t n = recvReply(fd.get(), buf, sizeof(buf));
    if (n < 0) {
      *err = errnoText("TASKSTATS register ack");
      return UniqueFd();
    }
    for (auto* nlh = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(nlh, static_cast<size_t>(n));
         nlh = NLMSG_NEXT(nlh, n)) {
      if (nlh->nlmsg_type != NLMSG_ERROR) continue;
      int error = static_cast<nlmsgerr*>(NLMSG_DATA(nlh))->error;
      if (error == 0) return fd;
      *err = std::string("TASKSTATS register cpumask: ") + strerror(-error);
      return UniqueFd();
    }
  }
  *err = "TASKSTATS register cpumask: no ack";
  return UniqueFd();
}

void closeTaskstats(UniqueFd* fd, uint16_t family) {
  if (!fd->valid()) return;
  std::string mask = possibleCpus();
  (void)sendGenl(fd->get(), family, TASKSTATS_CMD_GET, TASKSTATS_GENL_VERSION,
                 TASKSTATS_CMD_ATTR_DEREGISTER_CPUMASK, mask.c_str(), mask.size() + 1);
  fd->reset();
}

void parseTaskstats(const char* buf, size_t len, uint16_t family, std::vector<TaskExit>* out) {
  long n = static_cast<long>(len);  // signed: NLMSG_NEXT may step past the end
  for (auto* nlh = reinterpret_cast<const nlmsghdr*>(buf); NLMSG_OK(nlh, n);
       nlh = NLMSG_NEXT(nlh, n)) {
    if (nlh->nlmsg_type != family || nlh->nlmsg_len < NLMSG_LENGTH(GENL_HDRLEN)) continue;
    const auto* g = static_cast<const genlmsghdr*>(NLMSG_DATA(nlh));
    if (g->cmd != TASKSTATS_CMD_NEW) continue;
    const char* p = reinterpret_cast<const char*>(g) + GENL_HDRLEN;
    forEachAttr(p, nlh->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN),
                [&](uint16_t type, const char* data, size_t dlen) {
                  if (type != TASKSTATS_TYPE_AGGR_PID) return;  // per-task; AGGR_TGID sums
                  forEachAttr(data, dlen, [&](uint16_t t, const char* d, size_t l) {
                    if (t != TASKSTATS_TYPE_STATS) return;
                    // The kernel's struct may be newer (longer) or older (shorter) than ours.
                    taskstats ts;
                    memset(&ts, 0, sizeof(ts));
                    memcpy(&ts, d, l < sizeof(ts) ? l : sizeof(ts));
                    if (l < offsetof(taskstats, ac_ppid) + sizeof(ts.ac_ppid)) return;
                    TaskExit e;
                    e.pid = static_cast<int32_t>(ts.ac_pid);
                    e.tgid = l >= offsetof(taskstats, ac_tgid) + sizeof(ts.ac_tgid)
                                 ? static_cast<int32_t>(ts.ac_tgid)
                                 : 0;
                    e.ppid = static_cast<int32_t>(ts.ac_ppid);
                    e.uid = ts.ac_uid;
                    e.elapsed_us = ts.ac_etime;
                    if (l >= offsetof(taskstats, ac_exe_inode) + sizeof(ts.ac_exe_inode)) {
                      e.exe_dev = ts.ac_exe_dev;
                      e.exe_ino = ts.ac_exe_inode;
                    }
                    e.gid = ts.ac_gid;
                    static_assert(sizeof(e.comm) > sizeof(ts.ac_comm), "comm");
                    memcpy(e.comm, ts.ac_comm, sizeof(ts.ac_comm));
                    e.comm[sizeof(ts.ac_comm)] = '\0';
                    out->push_back(e);
                  });
                });
  }
}

}  // namespace netlink
}  // namespace pmg
