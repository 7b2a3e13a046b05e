// The audit daemon role. With no audit daemon registered we take the role (records come to us
// by unicast, and we set the backlog so that loggers never wait); when an audit daemon wants
// it (AUDIT_REPLACE, or another pid registered) we hand it over and read the read-log group
// instead; when it goes away we take it back. What we change is written to the state file
// before the change, and restored only where it is still our value.
#include <errno.h>
#include <linux/netlink.h>
#include <sys/socket.h>

#include <cstdio>

#include "../util/clock.h"
#include "audit_backend_impl.h"

namespace pmg::audit {

namespace {

// While we are the audit daemon: backlog_limit at least kBacklogWanted, and backlog_wait_time 0.
// The kernel makes a task that logs a record wait (up to backlog_wait_time, 60 s by default)
// when the backlog is full; with 0 it drops the record instead and counts it in `lost`, which
// we report as an auditLost loss. A sensor must never stall the host it watches: a procfs open
// storm then costs records, never the openers' time (README, "Capture backends").
constexpr uint32_t kBacklogWanted = 8192;

}  // namespace

// A state file while we hold the lock: the previous watcher died without cleaning up.
void AuditBackend::recoverStale() {
  SavedState old;
  StateFile::Loaded have = state_file_.load(&old);
  removeOurRules(true);  // rules with our key can only be a dead watcher's: we hold the lock
  if (have == StateFile::Loaded::kInvalid) {
    sink_->warn(("audit backend: ignored " + state_file_.dir() + "/" + state_file_.problem() +
                 "; nothing in it was applied to the audit configuration (moved to "
                 "audit.state.invalid)")
                    .c_str());
    state_file_.setAside();
    return;
  }
  if (have == StateFile::Loaded::kNone) return;
  restore(old, old.registered_pid);
  state_file_.remove();
  char msg[160];
  snprintf(msg, sizeof(msg),
           "audit backend: restored the audit state left by a watcher that did not stop "
           "cleanly (pid %d)",
           old.owner_pid);
  sink_->warn(msg);
}

// Puts back what `s` says we changed, but only where the value is still the one we set and no
// audit daemon has registered since we started (a newcomer like auditd sets enabled and
// backlog_limit itself): a change made by someone else is theirs to keep.
void AuditBackend::restore(const SavedState& s, int32_t registered_pid) {
  audit_status st{};
  if (ctl_.getStatus(&st) < 0) return;
  if (registered_pid != 0 && static_cast<int32_t>(st.pid) == registered_pid) {
    audit_status un{};
    un.mask = AUDIT_STATUS_PID;
    un.pid = 0;
    ctl_.setStatus(un);  // also clears a dead watcher's registration (the kernel tests it first)
    if (ctl_.getStatus(&st) < 0) return;
  }
  int32_t daemon = static_cast<int32_t>(st.pid);
  bool newcomer = daemon != 0 && daemon != self_pid_ && daemon != s.daemon_at_start;
  audit_status put{};
  if (s.set_backlog_limit >= 0 && s.orig_backlog_limit >= 0 &&
      st.backlog_limit == static_cast<uint32_t>(s.set_backlog_limit) && !newcomer) {
    put.mask |= AUDIT_STATUS_BACKLOG_LIMIT;
    put.backlog_limit = static_cast<uint32_t>(s.orig_backlog_limit);
  }
  if (s.set_backlog_wait_time >= 0 && s.orig_backlog_wait_time >= 0 &&
      st.backlog_wait_time == static_cast<uint32_t>(s.set_backlog_wait_time) && !newcomer) {
    put.mask |= AUDIT_STATUS_BACKLOG_WAIT_TIME;
    put.backlog_wait_time = static_cast<uint32_t>(s.orig_backlog_wait_time);
  }
  if (s.set_enabled >= 0 && s.orig_enabled >= 0 &&
      st.enabled == static_cast<uint32_t>(s.set_enabled) && !newcomer) {
    put.mask |= AUDIT_STATUS_ENABLED;
    put.enabled = static_cast<uint32_t>(s.orig_enabled);
  }
  if (put.mask) {
    int r = ctl_.setStatus(put);
    if (r < 0)
      sink_->warn(("audit backend: cannot restore the audit status: " + errText(r)).c_str());
  }
}

void AuditBackend::planDaemonSettings(const audit_status& st) {
  state_.registered_pid = self_pid_;
  state_.orig_backlog_limit = st.backlog_limit;
  state_.set_backlog_limit = st.backlog_limit < kBacklogWanted ? kBacklogWanted : -1;
  state_.orig_backlog_wait_time = st.backlog_wait_time;
  state_.set_backlog_wait_time = st.backlog_wait_time != 0 ? 0 : -1;
}

void AuditBackend::registerDaemon(const audit_status& st) {
  audit_status s{};
  s.mask = AUDIT_STATUS_PID;
  s.pid = static_cast<uint32_t>(self_pid_);
  if (st.enabled == 0) {
    s.mask |= AUDIT_STATUS_ENABLED;
    s.enabled = 1;
  }
  if (state_.set_backlog_limit >= 0) {
    s.mask |= AUDIT_STATUS_BACKLOG_LIMIT;
    s.backlog_limit = static_cast<uint32_t>(state_.set_backlog_limit);
  }
  if (state_.set_backlog_wait_time >= 0) {
    s.mask |= AUDIT_STATUS_BACKLOG_WAIT_TIME;
    s.backlog_wait_time = static_cast<uint32_t>(state_.set_backlog_wait_time);
  }
  // Sent on the record socket: the kernel delivers records to the socket that registered.
  int r = rd_.request(AUDIT_SET, &s, sizeof(s));
  if (r == -EEXIST) {  // a daemon registered meanwhile
    state_.registered_pid = 0;
    state_.set_backlog_limit = -1;
    state_.set_backlog_wait_time = -1;
    saveState();
    becomeListener();
    return;
  }
  if (r < 0) failNetlink("registering as the audit daemon (AUDIT_SET pid)", r);
  mode_ = static_cast<uint64_t>(Mode::kDaemon);
}

// Reads records through the read-log multicast group, leaving the daemon role to another.
void AuditBackend::becomeListener() {
  if (mode_.load() == static_cast<uint64_t>(Mode::kDaemon)) {
    SavedState mine = state_;
    mine.set_enabled = -1;  // the enabled flag is restored at stop, not now
    restore(mine, self_pid_);
    state_.registered_pid = 0;
    state_.set_backlog_limit = -1;
    state_.set_backlog_wait_time = -1;
    int r = state_file_.save(state_);
    if (r < 0) sink_->warn(("audit backend: cannot update the state file: " + errText(r)).c_str());
  }
  int group = AUDIT_NLGRP_READLOG;
  if (setsockopt(rd_.fd(), SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) != 0) {
    int r = -errno;
    if (mode_.load() == static_cast<uint64_t>(Mode::kNone)) {
      failNetlink("joining the audit read-log group (needs CAP_AUDIT_READ)", r);
    }
    sink_->warn(("audit backend: cannot join the audit read-log group: " + errText(r)).c_str());
  }
  mode_ = static_cast<uint64_t>(Mode::kMulticast);
}

// Kernel counters and the daemon role, once a second.
void AuditBackend::checkStatus() {
  audit_status st{};
  int r = ctl_.getStatus(&st);
  if (r < 0) {
    sink_->warn(("audit backend: AUDIT_GET failed: " + errText(r)).c_str());
    return;
  }
  backlog_ = st.backlog;
  // Time the kernel made loggers wait for backlog room since we started (jiffies; any
  // daemon's doing: ours never asks for a wait, see kBacklogWanted).
  if (st.backlog_wait_time_actual >= wait_actual_at_start_)
    backlog_wait_actual_ = st.backlog_wait_time_actual - wait_actual_at_start_;
  if (st.lost > last_lost_) {
    uint64_t delta = st.lost - last_lost_;
    kernel_lost_ += delta;
    sink_->lost(LossCause::kAuditLost, delta);
  }
  last_lost_ = st.lost;  // also follows a reset of the counter
  Mode mode = static_cast<Mode>(mode_.load());
  if (mode == Mode::kDaemon && (handover_ || static_cast<int32_t>(st.pid) != self_pid_)) {
    handovers_++;
    stepped_aside_ms_ = monotonicMs();
    becomeListener();
    sink_->warn(
        "audit backend: an audit daemon is taking over; reading its records through the "
        "read-log group from now on");
  } else if (mode == Mode::kMulticast && st.pid == 0 &&
             monotonicMs() - stepped_aside_ms_ >= kHandoverGraceMs) {
    // The daemon went away: records would go to the kernel log. Take the role back (after a
    // grace period, so that a daemon restarting after a failed start can register first).
    int group = AUDIT_NLGRP_READLOG;
    planDaemonSettings(st);  // the departed daemon's settings are the ones to restore
    int w = state_file_.save(state_);
    if (w < 0) sink_->warn(("audit backend: cannot update the state file: " + errText(w)).c_str());
    try {
      registerDaemon(st);
      if (mode_.load() == static_cast<uint64_t>(Mode::kDaemon)) {
        setsockopt(rd_.fd(), SOL_NETLINK, NETLINK_DROP_MEMBERSHIP, &group, sizeof(group));
        handovers_++;
      }
    } catch (const CaptureError& e) {
      sink_->warn(e.message.c_str());
    }
  }
  handover_ = false;
}

}  // namespace pmg::audit
