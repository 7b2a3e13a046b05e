// Standalone harness for running the audit backend under valgrind without Node (root only):
//   sh scripts/valgrind-audit.sh
// Two start/stop rounds with real mem opens; prints records and stats.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "audit/audit_backend.h"
using namespace pmg;
struct Sink : EventSink {
  std::mutex m;
  int n = 0;
  bool push(const CaptureRecord& r) override {
    std::lock_guard<std::mutex> g(m);
    n++;
    printf("rec %s %d %s\n", r.comm, r.target_pid, r.pathname);
    return true;
  }
  void lost(LossCause c, uint64_t k) override {
    printf("lost %u %llu\n", (unsigned)c, (unsigned long long)k);
  }
  void flush() override {}
  void warn(const char* m) override { printf("warn %s\n", m); }
};
struct Table : ProcessTable {
  void start() override {}
  void stop() override {}
  bool lookup(int32_t, int32_t, ProcessInfo*) override { return false; }
  int32_t hostPidOf(uint32_t, int32_t) override { return 0; }
  void attribute(int32_t, int32_t, CaptureRecord* r) override {
    r->record_flags |= kAttributionMissing;
  }
  std::map<std::string, uint64_t> stats() const override { return {}; }
};
int main() {
  Sink s;
  Table t;
  for (int round = 0; round < 2; round++) {
    auto b = makeAuditBackend();
    try {
      b->start(s, t);
    } catch (const CaptureError& e) {
      printf("start failed: %s: %s\n", errorCodeName(e.code), e.message.c_str());
      return 2;
    }
    if (system("sleep 5 & dd if=/proc/$!/mem of=/dev/null count=0 2>/dev/null; dd "
               "if=/proc/self/mem of=/dev/null count=0 2>/dev/null; cat /proc/self/maps > "
               "/dev/null; unshare --fork --pid --mount-proc sh -c 'dd if=/proc/1/mem of=/dev/null "
               "count=0 2>/dev/null'; kill $!") != 0)
      puts("system failed");
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    for (auto& [k, v] : b->stats()) printf("%s=%llu ", k.c_str(), (unsigned long long)v);
    puts("");
    b->stop();
  }
  std::vector<AuditRuleInfo> rules;
  AuditStatusInfo st;
  auditListRules(&rules);
  auditGetStatus(&st);
  printf("after: rules=%zu enabled=%u pid=%u\n", rules.size(), st.enabled, st.pid);
  printf("records=%d\n", s.n);
}
