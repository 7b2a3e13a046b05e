// N-API exports of the audit backend.
//   auditStatus(), auditListRules(): introspection, kept (doctor, tests).
//   AuditTestCapture: TEMPORARY test glue for the audit branch only, with an in-memory sink and
//   a stub process table; createCapture({backend: 'audit'}) from the fanotify branch replaces it
//   at merge (delete this class then, and its use in test/native/audit.test.ts).
#include <napi.h>

#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

#include "../proc/process_table.h"
#include "audit_backend.h"

namespace pmg {

namespace {

Napi::Value AuditStatus(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AuditStatusInfo st;
  int r = auditGetStatus(&st);
  if (r < 0) throw Napi::Error::New(env, std::string("AUDIT_GET: ") + std::strerror(-r));
  Napi::Object o = Napi::Object::New(env);
  o.Set("enabled", st.enabled);
  o.Set("failure", st.failure);
  o.Set("pid", st.pid);
  o.Set("backlogLimit", st.backlog_limit);
  o.Set("lost", st.lost);
  o.Set("backlog", st.backlog);
  return o;
}

Napi::Value AuditListRules(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<AuditRuleInfo> rules;
  int r = auditListRules(&rules);
  if (r < 0) throw Napi::Error::New(env, std::string("AUDIT_LIST_RULES: ") + std::strerror(-r));
  Napi::Array arr = Napi::Array::New(env, rules.size());
  for (size_t i = 0; i < rules.size(); i++) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("key", rules[i].key);
    o.Set("flags", rules[i].flags);
    o.Set("action", rules[i].action);
    o.Set("fieldCount", rules[i].field_count);
    arr.Set(static_cast<uint32_t>(i), o);
  }
  return arr;
}

// ---- BEGIN temporary audit-branch test glue (replaced by createCapture at merge) ----
class TestSink : public EventSink {
 public:
  bool push(const CaptureRecord& rec) override {
    std::lock_guard<std::mutex> g(mu_);
    records_.push_back(rec);
    return true;
  }
  void lost(LossCause cause, uint64_t count) override {
    std::lock_guard<std::mutex> g(mu_);
    lost_[static_cast<size_t>(cause)] += count;
  }
  void flush() override {}
  void warn(const char* message) override {
    std::lock_guard<std::mutex> g(mu_);
    warnings_.emplace_back(message);
  }
  std::mutex mu_;
  std::vector<CaptureRecord> records_;
  std::vector<std::string> warnings_;
  uint64_t lost_[static_cast<size_t>(LossCause::kCount)] = {};
};

class StubProcessTable : public ProcessTable {
 public:
  void start() override {}
  void stop() override {}
  bool lookup(int32_t, int32_t, ProcessInfo*) override { return false; }
  int32_t hostPidOf(uint32_t, int32_t) override { return 0; }
  void attribute(int32_t, int32_t, CaptureRecord* rec) override {
    rec->record_flags |= kAttributionMissing;
  }
};

class AuditTestCapture : public Napi::ObjectWrap<AuditTestCapture> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "AuditTestCapture",
                       {InstanceMethod("start", &AuditTestCapture::Start),
                        InstanceMethod("stop", &AuditTestCapture::Stop),
                        InstanceMethod("drain", &AuditTestCapture::Drain),
                        InstanceMethod("stats", &AuditTestCapture::Stats)});
  }
  explicit AuditTestCapture(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<AuditTestCapture>(info) {}
  ~AuditTestCapture() override {
    if (backend_) backend_->stop();
  }

 private:
  Napi::Value Start(const Napi::CallbackInfo& info) {
    if (!backend_) backend_ = makeAuditBackend();
    try {
      backend_->start(sink_, table_);
    } catch (const CaptureError& e) {
      Napi::Error err = Napi::Error::New(info.Env(), e.message);
      err.Set("code", e.code);
      throw err;
    }
    return info.Env().Undefined();
  }
  Napi::Value Stop(const Napi::CallbackInfo& info) {
    if (backend_) backend_->stop();
    return info.Env().Undefined();
  }
  // Array of Buffers, one CaptureRecord each.
  Napi::Value Drain(const Napi::CallbackInfo& info) {
    std::vector<CaptureRecord> recs;
    {
      std::lock_guard<std::mutex> g(sink_.mu_);
      recs.swap(sink_.records_);
    }
    Napi::Array arr = Napi::Array::New(info.Env(), recs.size());
    for (size_t i = 0; i < recs.size(); i++) {
      arr.Set(static_cast<uint32_t>(i),
              Napi::Buffer<uint8_t>::Copy(info.Env(), reinterpret_cast<uint8_t*>(&recs[i]),
                                          sizeof(CaptureRecord)));
    }
    return arr;
  }
  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    if (backend_) {
      for (const auto& [k, v] : backend_->stats()) o.Set(k, static_cast<double>(v));
    }
    std::lock_guard<std::mutex> g(sink_.mu_);
    Napi::Array lost = Napi::Array::New(env);
    for (uint32_t i = 0; i < static_cast<uint32_t>(LossCause::kCount); i++) {
      lost.Set(i, static_cast<double>(sink_.lost_[i]));
    }
    o.Set("lost", lost);
    Napi::Array warnings = Napi::Array::New(env, sink_.warnings_.size());
    for (size_t i = 0; i < sink_.warnings_.size(); i++) {
      warnings.Set(static_cast<uint32_t>(i), sink_.warnings_[i]);
    }
    o.Set("warnings", warnings);
    return o;
  }

  TestSink sink_;
  StubProcessTable table_;
  std::unique_ptr<Backend> backend_;
};
// ---- END temporary audit-branch test glue ----

}  // namespace

void registerAuditExports(Napi::Env env, Napi::Object exports) {
  exports.Set("auditStatus", Napi::Function::New(env, AuditStatus));
  exports.Set("auditListRules", Napi::Function::New(env, AuditListRules));
  exports.Set("AuditTestCapture", AuditTestCapture::Define(env));  // temporary, see above
}

}  // namespace pmg
