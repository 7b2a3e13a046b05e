// N-API glue only: argument conversion and object lifetimes. Capture logic lives in the
// backend folders; see native/backend.h.
#include <napi.h>
#include <sys/utsname.h>
#include <unistd.h>

// ---- audit branch: exports of native/audit/audit_napi.cc (keep one call at merge) ----
namespace pmg {
void registerAuditExports(Napi::Env env, Napi::Object exports);
}

namespace {

Napi::Value Probe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  struct utsname u;
  if (uname(&u) == 0) out.Set("kernel", u.release);
  out.Set("euid", static_cast<double>(geteuid()));
  return out;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("probe", Napi::Function::New(env, Probe));
  pmg::registerAuditExports(env, exports);  // audit branch
  return exports;
}

}  // namespace

NODE_API_MODULE(procmem_guard, Init)
