// The test-only addon (binding.gyp target procmem_guard_test, built with PMG_TEST_ADDON=1 by
// npm run build:native, never packed): a ProcessTable as a JavaScript handle and the container
// id parser, for test/native/process-table.test.ts and bench/process-table.mjs. Exports
// { Handle, containerIdFromCgroup }; test/helpers/test-addon.ts loads it.
#include <napi.h>

#include <memory>

#include "../../../native/backend.h"
#include "../../../native/proc/process_table.h"

namespace pmg {
namespace {

Napi::Object infoToObject(Napi::Env env, const ProcessInfo& i) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("hostPid", i.host_pid);
  o.Set("hostTid", i.host_tid);
  o.Set("hostPpid", i.host_ppid);
  o.Set("nsPid", i.ns_pid);
  o.Set("nsTid", i.ns_tid);
  o.Set("nsPpid", i.ns_ppid);
  o.Set("uid", static_cast<double>(i.uid));
  o.Set("gid", static_cast<double>(i.gid));
  o.Set("mntNs", static_cast<double>(i.mnt_ns));
  o.Set("pidNs", static_cast<double>(i.pid_ns));
  o.Set("cgroupId", Napi::BigInt::New(env, i.cgroup_id));
  o.Set("threadStartNs", Napi::BigInt::New(env, i.thread_start_ns));
  o.Set("comm", i.comm);
  o.Set("exe", i.exe);
  o.Set("containerId", i.container_id);
  o.Set("exited", i.exited);
  return o;
}

class Handle : public Napi::ObjectWrap<Handle> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(
        env, "ProcessTableHandle",
        {InstanceMethod("start", &Handle::Start), InstanceMethod("stop", &Handle::Stop),
         InstanceMethod("lookup", &Handle::Lookup), InstanceMethod("hostPidOf", &Handle::HostPidOf),
         InstanceMethod("attribute", &Handle::Attribute), InstanceMethod("stats", &Handle::Stats)});
  }

  explicit Handle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Handle>(info) {
    ProcessTableOptions o;
    if (info.Length() > 0 && info[0].IsObject()) {
      Napi::Object opts = info[0].As<Napi::Object>();
      if (opts.Has("graceMs")) {
        o.exit_grace_ms =
            static_cast<uint64_t>(opts.Get("graceMs").As<Napi::Number>().Int64Value());
      }
      if (opts.Has("maxEntries")) {
        o.max_entries = static_cast<size_t>(opts.Get("maxEntries").As<Napi::Number>().Int64Value());
      }
      if (opts.Has("taskstats")) o.taskstats = opts.Get("taskstats").ToBoolean();
      if (opts.Has("refreshLive")) o.refresh_live = opts.Get("refreshLive").ToBoolean();
      if (opts.Has("threadNice")) {
        o.thread_nice = opts.Get("threadNice").As<Napi::Number>().Int32Value();
      }
      if (opts.Has("receiveBufferBytes")) {
        o.receive_buffer_bytes = opts.Get("receiveBufferBytes").As<Napi::Number>().Int32Value();
      }
    }
    table_ = makeProcessTable(o);
  }

 private:
  Napi::Value Start(const Napi::CallbackInfo& info) {
    try {
      table_->start();
    } catch (const CaptureError& e) {
      Napi::Error err = Napi::Error::New(info.Env(), e.message);
      err.Set("code", errorCodeName(e.code));
      throw err;
    }
    return info.Env().Undefined();
  }
  Napi::Value Stop(const Napi::CallbackInfo& info) {
    table_->stop();
    return info.Env().Undefined();
  }
  Napi::Value Lookup(const Napi::CallbackInfo& info) {
    int32_t pid = info[0].As<Napi::Number>().Int32Value();
    int32_t tid = info.Length() > 1 ? info[1].As<Napi::Number>().Int32Value() : 0;
    ProcessInfo out;
    if (!table_->lookup(pid, tid, &out)) return info.Env().Null();
    return infoToObject(info.Env(), out);
  }
  Napi::Value HostPidOf(const Napi::CallbackInfo& info) {
    uint32_t ns = info[0].As<Napi::Number>().Uint32Value();
    int32_t pid = info[1].As<Napi::Number>().Int32Value();
    return Napi::Number::New(info.Env(), table_->hostPidOf(ns, pid));
  }
  Napi::Value Attribute(const Napi::CallbackInfo& info) {
    int32_t pid = info[0].As<Napi::Number>().Int32Value();
    int32_t tid = info.Length() > 1 ? info[1].As<Napi::Number>().Int32Value() : 0;
    auto rec = std::make_unique<CaptureRecord>();
    table_->attribute(pid, tid, rec.get());
    ProcessInfo i;
    i.host_pid = rec->host_pid;
    i.host_tid = rec->host_tid;
    i.host_ppid = rec->host_ppid;
    i.ns_pid = rec->ns_pid;
    i.ns_tid = rec->ns_tid;
    i.ns_ppid = rec->ns_ppid;
    i.uid = rec->uid;
    i.gid = rec->gid;
    i.mnt_ns = rec->mnt_ns;
    i.pid_ns = rec->pid_ns;
    i.cgroup_id = rec->cgroup_id;
    i.thread_start_ns = rec->thread_start_ns;
    i.comm = rec->comm;
    i.exe = rec->exe;
    i.container_id = rec->container_id;
    i.exited = (rec->record_flags & kOpenerExited) != 0;
    Napi::Object o = infoToObject(info.Env(), i);
    o.Set("recordFlags", static_cast<double>(rec->record_flags));
    return o;
  }
  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Object o = Napi::Object::New(info.Env());
    for (const auto& kv : table_->stats()) o.Set(kv.first, static_cast<double>(kv.second));
    return o;
  }

  std::unique_ptr<ProcessTable> table_;
};

Napi::Value ContainerId(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(),
                           containerIdFromCgroup(info[0].As<Napi::String>().Utf8Value()));
}

}  // namespace
}  // namespace pmg

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Handle", pmg::Handle::define(env));
  exports.Set("containerIdFromCgroup", Napi::Function::New(env, pmg::ContainerId));
  return exports;
}

}  // namespace

NODE_API_MODULE(procmem_guard_test, Init)
