// The audit backend's capture thread: reads the record socket (the audit daemon connection or
// the read-log group), feeds the assembler, emits what it completes once per batch, rescans
// procfs instances and checks the kernel's counters and the daemon role.
#include <errno.h>
#include <linux/netlink.h>
#include <poll.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "../util/clock.h"
#include "audit_backend_impl.h"
#include "procfs_devs.h"

namespace pmg::audit {

namespace {

constexpr int64_t kStatusEveryMs = 1000;  // AUDIT_GET: lost/backlog counters, daemon changes
constexpr int64_t kScanEveryMs = 1000;    // new procfs instances (containers, unshare)
constexpr int kPollMs = 250;
constexpr int kBatch = 256;  // datagrams per wake-up

}  // namespace

void AuditBackend::run() {
  pthread_setname_np(pthread_self(), "pmg-audit");  // best effort; shows in task/*/comm
  // Best effort (needs CAP_SYS_NICE): the sooner a mount record is read, the sooner a new procfs
  // instance is covered; and a slow reader loses records once the backlog is full.
  if (setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), -10) != 0) errno = 0;
  std::vector<uint8_t> buf(16384);
  pollfd fds[2] = {{rd_.fd(), POLLIN, 0}, {stop_fd_.get(), POLLIN, 0}};
  for (;;) {
    int r = poll(fds, 2, kPollMs);
    if (r < 0 && errno != EINTR) {
      sink_->warn((std::string("audit backend: poll: ") + strerror(errno)).c_str());
      break;
    }
    if (r > 0 && (fds[1].revents & POLLIN)) {
      drainForStop(buf);
      break;
    }
    if (r > 0 && (fds[0].revents & (POLLIN | POLLERR))) readBatch(buf);
    int64_t now = monotonicMs();
    finishBatch(now);
    if (now - last_scan_ms_ >= kScanEveryMs) {
      last_scan_ms_ = now;
      syncRules(procfsDevicesAllNamespaces(), false, true);
    }
    if (now - last_status_ms_ >= kStatusEveryMs || handover_) {
      last_status_ms_ = now;
      checkStatus();
      fds[0].fd = rd_.fd();
    }
  }
}

// Reads what is queued on the record socket, up to kBatch datagrams. Returns false when drained.
bool AuditBackend::readBatch(std::vector<uint8_t>& buf) {
  for (int i = 0; i < kBatch; i++) {
    sockaddr_nl from{};
    socklen_t fl = sizeof(from);
    ssize_t n = recvfrom(rd_.fd(), buf.data(), buf.size(), MSG_DONTWAIT,
                         reinterpret_cast<sockaddr*>(&from), &fl);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != ENOBUFS) return false;  // EAGAIN: drained
      // The socket overflowed. Multicast copies are gone for good (count unknown: 1). On the
      // daemon path the kernel keeps and retries the record and counts real drops in `lost`.
      enobufs_++;
      if (mode_.load() == static_cast<uint64_t>(Mode::kMulticast)) {
        sink_->lost(LossCause::kAuditLost, 1);
      }
      continue;
    }
    if (from.nl_pid != 0) continue;
    forEachMessage(
        buf.data(), static_cast<size_t>(n),
        [this](uint16_t type, std::string_view text) { onRecord(type, text); },
        [](const nlmsghdr*) {});  // late acks of our requests
  }
  return true;
}

// Emits what the assembler completed, then wakes JavaScript once for the batch.
void AuditBackend::finishBatch(int64_t now) {
  uint64_t incomplete = 0;
  assembler_->expire(now, &done_, &incomplete);
  if (incomplete) {
    incomplete_ += incomplete;
    sink_->lost(LossCause::kAuditIncomplete, incomplete);
  }
  for (const AuditEvent& ev : done_) emit(ev);
  done_.clear();
  if (pushed_in_batch_) sink_->flush();
  pushed_in_batch_ = 0;
}

// At stop: remove our rules first, then read what the kernel still has queued for us (up to
// 500 ms) so that, when we unregister as the daemon, nothing of ours is left to go to printk.
void AuditBackend::drainForStop(std::vector<uint8_t>& buf) {
  removeOurRules(false);
  int64_t deadline = monotonicMs() + 500;
  while (monotonicMs() < deadline) {
    while (readBatch(buf)) {
    }
    finishBatch(monotonicMs());
    audit_status st{};
    if (ctl_.getStatus(&st) < 0 || st.backlog == 0) break;
    pollfd p{rd_.fd(), POLLIN, 0};
    poll(&p, 1, 20);
  }
  while (readBatch(buf)) {
  }
  finishBatch(monotonicMs());
}

void AuditBackend::onRecord(uint16_t type, std::string_view text) {
  if (type == AUDIT_REPLACE) {  // an audit daemon is trying to register: step aside
    handover_ = true;
    return;
  }
  if (type != AUDIT_SYSCALL && type != AUDIT_URINGOP && type != AUDIT_CWD && type != AUDIT_PATH &&
      type != AUDIT_EOE && type != AUDIT_PROCTITLE) {
    return;
  }
  records_++;
  uint64_t incomplete = 0;
  if (!assembler_->feed(type, text, monotonicMs(), &done_, &incomplete)) parse_errors_++;
  if (incomplete) {
    incomplete_ += incomplete;
    sink_->lost(LossCause::kAuditIncomplete, incomplete);
  }
}

}  // namespace pmg::audit
