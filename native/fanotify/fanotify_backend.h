// The fanotify capture backend: one notification group with filesystem marks on every procfs
// instance, a capture thread that keeps only opens of procfs mem files, and attribution
// through the process table. Design and trade-offs: see the comment in fanotify_backend.cc.
#pragma once

#include <memory>

#include "../backend.h"

namespace pmg {

std::unique_ptr<Backend> makeFanotifyBackend();

}  // namespace pmg
