// The object createCapture() returns: owns the ring memory reference, the process table, the
// backend and the thread-safe function that wakes JavaScript. API: see binding.cc.
#pragma once

#include <napi.h>

#include <memory>
#include <string>

#include "backend.h"
#include "proc/process_table.h"
#include "ring/ring.h"

namespace pmg {

class CaptureObject : public Napi::ObjectWrap<CaptureObject> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit CaptureObject(const Napi::CallbackInfo& info);
  ~CaptureObject() override;

 private:
  Napi::Value Start(const Napi::CallbackInfo& info);
  Napi::Value Stop(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value SetGuard(const Napi::CallbackInfo& info);
  void startCapture(Napi::Env env);
  void stopCapture();
  static void OnEnvCleanup(void* self);

  std::string backend_name_;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<ProcessTable> table_;
  std::unique_ptr<Ring> ring_;
  Napi::Reference<Napi::ArrayBuffer> ring_buffer_;  // keeps the ring memory alive
  Napi::FunctionReference on_wake_, on_warn_;
  napi_threadsafe_function tsfn_ = nullptr;  // exists only while capture runs
  napi_env env_ = nullptr;
  bool running_ = false;
};

}  // namespace pmg
