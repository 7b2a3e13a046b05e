// What enrichTarget() (native/proc/target_info.h) costs per record, against a live process
// table, beside what the opener's attribution (ProcessTable::attribute) already costs each
// record. Root only (proc connector). Built and run by bench/enrich.mjs:
//   target_enrich CALLS UNRELATED_PID
// UNRELATED_PID: a process that is neither this one's ancestor nor its descendant. Prints one
// JSON line: per case, the relation found and the p50/p99/mean of one call in microseconds.
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "backend.h"
#include "proc/process_table.h"
#include "proc/target_info.h"

using namespace pmg;

namespace {

uint64_t nowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

struct Stats {
  double p50, p99, mean;
};

Stats summarize(std::vector<double> us) {
  std::sort(us.begin(), us.end());
  double sum = 0;
  for (double u : us) sum += u;
  auto at = [&](double p) { return us[std::min(us.size() - 1, static_cast<size_t>(p * us.size()))]; };
  return {at(0.50), at(0.99), sum / static_cast<double>(us.size())};
}

// A record as a backend has it when it calls enrichTarget(): the opener attributed, the
// target's pid set.
CaptureRecord openerRecord(ProcessTable& table, int32_t target) {
  CaptureRecord rec{};
  table.attribute(getpid(), getpid(), &rec);
  rec.target_pid = rec.target_tid = target;
  return rec;
}

const char* relationName(uint8_t r) {
  static const char* names[] = {"unknown", "self", "ancestor", "descendant", "unrelated"};
  return r < 5 ? names[r] : "?";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: target_enrich CALLS UNRELATED_PID\n");
    return 2;
  }
  const int calls = std::atoi(argv[1]);
  const int32_t unrelated = std::atoi(argv[2]);
  pid_t child = fork();
  if (child == 0) {
    execlp("sleep", "sleep", "60", static_cast<char*>(nullptr));
    _exit(127);
  }
  if (child < 0) return 1;
  auto table = makeProcessTable();
  try {
    table->start();
  } catch (const CaptureError& e) {
    std::fprintf(stderr, "%s: %s\n", e.code.c_str(), e.message.c_str());
    kill(child, SIGKILL);
    return 1;
  }
  // Let the child exec (its comm becomes "sleep") before measuring.
  for (int i = 0; i < 500; i++) {
    ProcessInfo info;
    if (table->lookup(child, child, &info) && info.comm == "sleep") break;
    usleep(10000);
  }
  struct Case {
    const char* name;
    int32_t target;
  } cases[] = {{"unrelated", unrelated},
               {"ancestor", static_cast<int32_t>(child)},
               {"descendant", static_cast<int32_t>(getppid())},
               {"self", static_cast<int32_t>(getpid())}};
  std::string out = "{";
  {  // The baseline every record already pays: the opener's attribution.
    std::vector<double> us;
    for (int i = 0; i < calls; i++) {
      CaptureRecord rec{};
      uint64_t t0 = nowNs();
      table->attribute(getpid(), getpid(), &rec);
      us.push_back(static_cast<double>(nowNs() - t0) / 1000.0);
    }
    Stats s = summarize(us);
    char buf[160];
    std::snprintf(buf, sizeof buf, "\"attribute\":{\"p50\":%.2f,\"p99\":%.2f,\"mean\":%.2f}",
                  s.p50, s.p99, s.mean);
    out += buf;
  }
  for (const Case& c : cases) {
    std::vector<double> us;
    uint8_t relation = 0;
    for (int i = 0; i < calls; i++) {
      CaptureRecord rec = openerRecord(*table, c.target);
      uint64_t t0 = nowNs();
      enrichTarget(*table, &rec);
      us.push_back(static_cast<double>(nowNs() - t0) / 1000.0);
      relation = rec.target_relation;
    }
    Stats s = summarize(us);
    char buf[200];
    std::snprintf(buf, sizeof buf,
                  ",\"%s\":{\"relation\":\"%s\",\"p50\":%.2f,\"p99\":%.2f,\"mean\":%.2f}", c.name,
                  relationName(relation), s.p50, s.p99, s.mean);
    out += buf;
  }
  out += "}";
  std::puts(out.c_str());
  table->stop();
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  return 0;
}
