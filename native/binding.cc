// N-API glue only: argument conversion and object lifetimes. Capture logic lives in the
// backend folders (native/backend.h); src/native.ts holds the same API as TypeScript types.
//
// probe(): {
//   kernel: string, euid: number,
//   capabilities: { effective: string (CapEff hex), sysAdmin, auditControl, auditRead: boolean },
//   fanotify: { available, reportFdError, reportTid, markFilesystem: boolean,
//               error?: string, markError?: string },
//   ebpf: { built: boolean, error?: string,
//           guard: boolean, guardError?: string (bpf_send_signal for guard mode) },
//   procfsInstances: [{ path, mountpoint: string, dev, pidNs: number, hostPids: boolean }] }
//
// createCapture({ backend: 'ebpf' | 'fanotify' | 'audit', ringCapacity?: number,
//                 onWake: () => void, onWarn?: (msg: string) => void }) returns {
//   ring: ArrayBuffer     shared ring, layout in native/ring/ring.h; valid as long as JS holds it
//   backend: string       'ebpf' | 'fanotify' | 'audit'
//   start(): void         capture is live when it returns; idempotent. Throws an Error with
//                         .code one of native/capture_error.h and an actionable message
//   stop(): void          joins threads, releases marks, fds, sockets; idempotent
//   stats(): Record<string, number>   backend counters, process table counters ("table_*")
//   setGuard({ mode: 'off' | 'enforce' | 'dry-run', killSelf: boolean, entries: [...] }): void
//                         guard mode (native/guard_config.h, native/guard_napi.cc); throws
//                         .code ENFORCE_UNAVAILABLE on a backend that cannot enforce
// }
// onWake is called on the JS thread at most once per pending batch: the reader must clear
// wake_pending before draining (RingReader.drain does). While started, the capture keeps the
// event loop alive; once stopped it does not.
#include <napi.h>

#include "capture_object.h"
#include "probe_report.h"

// recordLayout(): offsets and sizes of CaptureRecord and the ring header, for the check of the
// TypeScript decoder (native/record_layout.cc).
namespace pmg {
void registerRecordLayout(Napi::Env env, Napi::Object exports);
}

// auditStatus(): { enabled, failure, pid, backlogLimit, lost, backlog } (AUDIT_GET)
// auditListRules(): [{ key, flags, action, fieldCount }] (AUDIT_LIST_RULES)
// Defined in native/audit/audit_napi.cc.
namespace pmg {
void registerAuditExports(Napi::Env env, Napi::Object exports);
}

namespace {

struct AddonData {
  Napi::FunctionReference capture_class;
};

Napi::Value Probe(const Napi::CallbackInfo& info) { return pmg::probeReport(info.Env()); }

Napi::Value CreateCapture(const Napi::CallbackInfo& info) {
  auto* data = info.Env().GetInstanceData<AddonData>();
  return data->capture_class.New({info.Length() > 0 ? info[0] : info.Env().Undefined()});
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData{Napi::Persistent(pmg::CaptureObject::Define(env))};
  env.SetInstanceData(data);
  exports.Set("probe", Napi::Function::New(env, Probe));
  exports.Set("createCapture", Napi::Function::New(env, CreateCapture));
  pmg::registerAuditExports(env, exports);  // auditStatus, auditListRules (audit)
  pmg::registerRecordLayout(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(procmem_guard, Init)
