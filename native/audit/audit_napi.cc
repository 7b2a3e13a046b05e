// N-API exports of the audit backend: auditStatus(), auditListRules() (introspection for
// `doctor` and tests; capture itself goes through createCapture({ backend: 'audit' })).
#include <napi.h>

#include <cstring>
#include <string>
#include <vector>

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
  o.Set("backlogWaitTime", st.backlog_wait_time);
  o.Set("backlogWaitTimeActual", st.backlog_wait_time_actual);
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

}  // namespace

void registerAuditExports(Napi::Env env, Napi::Object exports) {
  exports.Set("auditStatus", Napi::Function::New(env, AuditStatus));
  exports.Set("auditListRules", Napi::Function::New(env, AuditListRules));
}

}  // namespace pmg
