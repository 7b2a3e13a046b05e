#include "probe_report.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "ebpf/ebpf_backend.h"
#include "ebpf/guard_loader.h"
#include "fanotify/fanotify_features.h"
#include "fanotify/procfs_instances.h"
#include "util/proc_files.h"

namespace pmg {
namespace {

constexpr int kCapAuditControl = 30, kCapSysAdmin = 21, kCapAuditRead = 37;

Napi::Object capabilities(Napi::Env env) {
  Napi::Object caps = Napi::Object::New(env);
  std::string status, hex;
  uint64_t eff = 0;
  if (readSmallFile("/proc/self/status", &status) && fieldValue(status, "CapEff", &hex))
    eff = std::strtoull(hex.c_str(), nullptr, 16);
  caps.Set("effective", hex);
  caps.Set("sysAdmin", Napi::Boolean::New(env, (eff >> kCapSysAdmin) & 1));
  caps.Set("auditControl", Napi::Boolean::New(env, (eff >> kCapAuditControl) & 1));
  caps.Set("auditRead", Napi::Boolean::New(env, (eff >> kCapAuditRead) & 1));
  return caps;
}

Napi::Object fanotify(Napi::Env env) {
  FanotifyFeatures f = probeFanotify();
  Napi::Object out = Napi::Object::New(env);
  out.Set("available", Napi::Boolean::New(env, f.available));
  if (!f.available) out.Set("error", fanotifyErrorAdvice(f.init_errno));
  out.Set("reportFdError", Napi::Boolean::New(env, f.report_fd_error));
  out.Set("reportTid", Napi::Boolean::New(env, f.report_tid));
  out.Set("markFilesystem", Napi::Boolean::New(env, f.mark_filesystem));
  if (f.mark_errno) out.Set("markError", fanotifyErrorAdvice(f.mark_errno));
  return out;
}

Napi::Array procfsInstances(Napi::Env env) {
  ProcfsInstanceScanner scanner;
  Napi::Array list = Napi::Array::New(env);
  uint32_t i = 0;
  for (const auto& inst : scanner.scanNew()) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("path", inst.path);
    o.Set("mountpoint", inst.mountpoint);
    o.Set("dev", static_cast<double>(inst.dev));
    o.Set("pidNs", static_cast<double>(inst.pid_ns));
    o.Set("hostPids", Napi::Boolean::New(env, inst.host_pids));
    list.Set(i++, o);
  }
  return list;
}

// Whether this binary has the eBPF backend (whether the kernel loads it shows at start()),
// and whether guard mode could kill with it (the kernel offers bpf_send_signal).
Napi::Object ebpf(Napi::Env env) {
  Napi::Object out = Napi::Object::New(env);
  std::string missing = ebpfMissingReason();
  out.Set("built", Napi::Boolean::New(env, missing.empty()));
  if (!missing.empty()) out.Set("error", "built without the eBPF backend: " + missing);
  std::string no_guard = missing.empty() ? guardKernelMissing() : "no eBPF backend";
  out.Set("guard", Napi::Boolean::New(env, no_guard.empty()));
  if (!no_guard.empty()) out.Set("guardError", no_guard);
  return out;
}

}  // namespace

Napi::Object probeReport(Napi::Env env) {
  Napi::Object out = Napi::Object::New(env);
  struct utsname u;
  if (uname(&u) == 0) out.Set("kernel", u.release);
  out.Set("euid", static_cast<double>(geteuid()));
  out.Set("capabilities", capabilities(env));
  out.Set("fanotify", fanotify(env));
  out.Set("ebpf", ebpf(env));
  out.Set("procfsInstances", procfsInstances(env));
  return out;
}

}  // namespace pmg
