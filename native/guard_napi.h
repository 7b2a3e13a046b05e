// Reads capture.setGuard()'s argument (built by src/guard/table.ts, see src/native.ts
// NativeGuardConfig) into a GuardConfig. TypeScript checks it first; this only refuses what
// would make no sense to the kernel, with a TypeError naming the field.
#pragma once

#include <napi.h>

#include "guard_config.h"

namespace pmg {

GuardConfig guardConfigFrom(const Napi::Value& value);

}  // namespace pmg
