// Backend selection by name ('ebpf', 'fanotify', 'audit'). One table entry per backend.
#pragma once

#include <memory>
#include <string>

#include "backend.h"

namespace pmg {

// Returns the backend called `name`. A known backend that is not built into this binary
// yields one whose start() throws CaptureError (AUDIT_UNAVAILABLE, ...). Returns nullptr for
// an unknown name.
std::unique_ptr<Backend> makeBackend(const std::string& name);

}  // namespace pmg
