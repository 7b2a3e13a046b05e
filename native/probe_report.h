// probe(): what this host offers for capture, without starting any. API: see binding.cc.
#pragma once

#include <napi.h>

namespace pmg {

Napi::Object probeReport(Napi::Env env);

}  // namespace pmg
