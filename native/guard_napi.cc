#include "guard_napi.h"

#include <cstdint>
#include <string>

namespace pmg {
namespace {

[[noreturn]] void bad(Napi::Env env, const std::string& what) {
  throw Napi::TypeError::New(env, "setGuard: " + what);
}

uint32_t u32(Napi::Env env, const Napi::Value& v, const std::string& what, uint32_t max) {
  if (!v.IsNumber()) bad(env, what + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= max) || d != static_cast<double>(static_cast<uint64_t>(d)))
    bad(env, what + " must be a whole number from 0 to " + std::to_string(max));
  return static_cast<uint32_t>(d);
}

pmg_guard_exception entryFrom(Napi::Env env, const Napi::Value& value, const std::string& at) {
  if (!value.IsObject()) bad(env, at + " must be an object");
  Napi::Object o = value.As<Napi::Object>();
  pmg_guard_exception e{};
  e.signatures = static_cast<__u8>(u32(env, o.Get("signatures"), at + ".signatures", 3));
  e.access = static_cast<__u8>(u32(env, o.Get("access"), at + ".access", 3));
  Napi::Value exe = o.Get("exe");
  if (!exe.IsNull() && !exe.IsUndefined()) {
    if (!exe.IsObject()) bad(env, at + ".exe must be null or { dev, ino }");
    Napi::Object x = exe.As<Napi::Object>();
    e.exe_dev = u32(env, x.Get("dev"), at + ".exe.dev", UINT32_MAX);
    Napi::Value ino = x.Get("ino");
    if (!ino.IsBigInt()) bad(env, at + ".exe.ino must be a bigint");
    bool lossless = false;
    e.exe_ino = ino.As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless) bad(env, at + ".exe.ino must fit in 64 bits");
    e.conditions |= PMG_GUARD_HAS_EXE;
  }
  Napi::Value uids = o.Get("uids");
  if (!uids.IsNull() && !uids.IsUndefined()) {
    if (!uids.IsArray()) bad(env, at + ".uids must be null or an array");
    Napi::Array list = uids.As<Napi::Array>();
    if (list.Length() == 0 || list.Length() > PMG_GUARD_MAX_UIDS)
      bad(env, at + ".uids must hold 1 to " + std::to_string(PMG_GUARD_MAX_UIDS) + " uids");
    for (uint32_t i = 0; i < list.Length(); i++)
      e.uids[i] = u32(env, list.Get(i), at + ".uids[" + std::to_string(i) + "]", UINT32_MAX);
    e.n_uids = static_cast<__u8>(list.Length());
    e.conditions |= PMG_GUARD_HAS_UID;
  }
  Napi::Value relations = o.Get("relations");
  if (!relations.IsNull() && !relations.IsUndefined()) {
    e.relations = static_cast<__u8>(u32(env, relations, at + ".relations", 15));
    e.conditions |= PMG_GUARD_HAS_RELATION;
  }
  return e;
}

}  // namespace

GuardConfig guardConfigFrom(const Napi::Value& value) {
  Napi::Env env = value.Env();
  if (!value.IsObject()) bad(env, "expected { mode, killSelf, entries }");
  Napi::Object o = value.As<Napi::Object>();
  GuardConfig config;
  std::string mode = o.Get("mode").IsString() ? o.Get("mode").As<Napi::String>().Utf8Value() : "";
  if (mode == "off")
    config.mode = PMG_GUARD_OFF;
  else if (mode == "enforce")
    config.mode = PMG_GUARD_ENFORCE;
  else if (mode == "dry-run")
    config.mode = PMG_GUARD_DRY_RUN;
  else
    bad(env, "mode must be \"off\", \"enforce\" or \"dry-run\"");
  config.kill_self = o.Get("killSelf").ToBoolean().Value();
  Napi::Value entries = o.Get("entries");
  if (!entries.IsArray()) bad(env, "entries must be an array");
  Napi::Array list = entries.As<Napi::Array>();
  if (list.Length() > PMG_GUARD_MAX_EXCEPTIONS)
    bad(env, "at most " + std::to_string(PMG_GUARD_MAX_EXCEPTIONS) + " entries");
  for (uint32_t i = 0; i < list.Length(); i++)
    config.entries.push_back(entryFrom(env, list.Get(i), "entries[" + std::to_string(i) + "]"));
  return config;
}

}  // namespace pmg
