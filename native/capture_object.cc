#include "capture_object.h"

#include <algorithm>

#include "backend_factory.h"
#include "guard_napi.h"

namespace pmg {
namespace {

// What the thread-safe function calls on the JavaScript thread. Owned by the thread-safe
// function (freed by its finalizer), so a call still queued when the capture object goes away
// finds it alive.
struct JsCallbacks {
  Napi::FunctionReference wake, warn;
};

// Call data: nullptr = wake-up; otherwise a std::string* warning owned by the call.
void CallJs(napi_env raw_env, napi_value, void* context, void* data) {
  std::unique_ptr<std::string> warning(static_cast<std::string*>(data));
  if (raw_env == nullptr) return;  // the environment is going away
  Napi::Env env(raw_env);
  auto* cbs = static_cast<JsCallbacks*>(context);
  Napi::HandleScope scope(env);
  try {
    if (!warning) {
      cbs->wake.Call({});
    } else if (!cbs->warn.IsEmpty()) {
      cbs->warn.Call({Napi::String::New(env, *warning)});
    }
  } catch (const Napi::Error& e) {
    e.ThrowAsJavaScriptException();  // surfaces as an uncaught exception, like any callback
  }
}

void FinalizeCallbacks(napi_env, void* data, void*) { delete static_cast<JsCallbacks*>(data); }

Napi::Error captureError(Napi::Env env, const CaptureError& ce) {
  Napi::Error err = Napi::Error::New(env, ce.message);
  err.Set("code", Napi::String::New(env, errorCodeName(ce.code)));
  return err;
}

}  // namespace

Napi::Function CaptureObject::Define(Napi::Env env) {
  return DefineClass(
      env, "Capture",
      {InstanceMethod("start", &CaptureObject::Start), InstanceMethod("stop", &CaptureObject::Stop),
       InstanceMethod("stats", &CaptureObject::Stats),
       InstanceMethod("setGuard", &CaptureObject::SetGuard)});
}

CaptureObject::CaptureObject(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<CaptureObject>(info), env_(info.Env()) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject())
    throw Napi::TypeError::New(env, "createCapture(options): options must be an object");
  Napi::Object opts = info[0].As<Napi::Object>();
  Napi::Value backend = opts.Get("backend");
  backend_name_ = backend.IsUndefined() ? "fanotify" : backend.ToString().Utf8Value();
  backend_ = makeBackend(backend_name_);
  if (!backend_)
    throw Napi::TypeError::New(env, "createCapture: unknown backend '" + backend_name_ +
                                        "' (expected 'ebpf', 'fanotify' or 'audit')");
  Napi::Value on_wake = opts.Get("onWake"), on_warn = opts.Get("onWarn");
  if (!on_wake.IsFunction())
    throw Napi::TypeError::New(env, "createCapture: options.onWake must be a function");
  on_wake_ = Napi::Persistent(on_wake.As<Napi::Function>());
  if (on_warn.IsFunction()) on_warn_ = Napi::Persistent(on_warn.As<Napi::Function>());

  backend_->setObserveIo(opts.Get("observeIo").ToBoolean());

  Napi::Value cap = opts.Get("ringCapacity");
  uint32_t requested = kRingDefaultCapacity;
  if (cap.IsNumber())
    requested = static_cast<uint32_t>(std::max(0.0, cap.ToNumber().DoubleValue()));
  uint32_t capacity = ringCapacityFor(requested);
  // V8 allocates and zero-fills the buffer; our reference keeps it alive while we exist, and
  // JavaScript's references keep it alive after that (see ring.h on ownership).
  Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(env, ringBytesFor(capacity));
  ring_buffer_ = Napi::Persistent(buffer);
  ring_ = std::make_unique<Ring>(static_cast<uint8_t*>(buffer.Data()), capacity);
  table_ = makeProcessTable();

  Napi::Object self = info.This().As<Napi::Object>();
  self.Set("ring", buffer);
  self.Set("backend", Napi::String::New(env, backend_->name()));
}

CaptureObject::~CaptureObject() { stopCapture(); }

Napi::Value CaptureObject::Start(const Napi::CallbackInfo& info) {
  if (!running_) startCapture(info.Env());
  return info.Env().Undefined();
}

Napi::Value CaptureObject::Stop(const Napi::CallbackInfo& info) {
  stopCapture();
  return info.Env().Undefined();
}

void CaptureObject::startCapture(Napi::Env env) {
  auto* cbs = new JsCallbacks{
      Napi::Persistent(on_wake_.Value()),
      on_warn_.IsEmpty() ? Napi::FunctionReference() : Napi::Persistent(on_warn_.Value())};
  napi_status status = napi_create_threadsafe_function(
      env, nullptr, nullptr, Napi::String::New(env, "procmem-guard capture"), 0, 1, cbs,
      FinalizeCallbacks, cbs, CallJs, &tsfn_);
  if (status != napi_ok) {
    delete cbs;
    throw captureError(env,
                       {ErrorCode::kInternal, "cannot create the thread-safe wake-up function"});
  }
  napi_threadsafe_function tsfn = tsfn_;
  ring_->attach(
      [tsfn]() {
        return napi_call_threadsafe_function(tsfn, nullptr, napi_tsfn_nonblocking) == napi_ok;
      },
      [tsfn](const char* msg) {
        auto* copy = new std::string(msg);
        if (napi_call_threadsafe_function(tsfn, copy, napi_tsfn_nonblocking) != napi_ok)
          delete copy;
      });
  napi_add_env_cleanup_hook(env, OnEnvCleanup, this);
  running_ = true;
  try {
    table_->start();
    backend_->start(*ring_, *table_);
  } catch (const CaptureError& ce) {
    stopCapture();
    throw captureError(env, ce);
  } catch (const std::exception& e) {
    stopCapture();
    throw captureError(env, {ErrorCode::kInternal, e.what()});
  }
}

void CaptureObject::stopCapture() {
  if (!running_) return;
  running_ = false;
  backend_->stop();  // joins the capture thread: nothing calls the ring after this
  table_->stop();
  ring_->detach();
  // Releasing the last reference closes the function: it no longer keeps the loop alive.
  napi_release_threadsafe_function(tsfn_, napi_tsfn_release);
  tsfn_ = nullptr;
  napi_remove_env_cleanup_hook(env_, OnEnvCleanup, this);
}

Napi::Value CaptureObject::SetGuard(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GuardConfig config = guardConfigFrom(info.Length() > 0 ? info[0] : env.Undefined());
  try {
    backend_->setGuard(config);
  } catch (const CaptureError& ce) {
    throw captureError(env, ce);
  }
  return env.Undefined();
}

void CaptureObject::OnEnvCleanup(void* self) { static_cast<CaptureObject*>(self)->stopCapture(); }

Napi::Value CaptureObject::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  for (const auto& kv : backend_->stats()) out.Set(kv.first, static_cast<double>(kv.second));
  for (const auto& kv : table_->stats())
    out.Set("table_" + kv.first, static_cast<double>(kv.second));
  return out;
}

}  // namespace pmg
