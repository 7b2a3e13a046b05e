// The eBPF capture backend (docs/ebpf-capture.md): BPF programs at the exit of the open-family
// syscalls and at io_uring open completions filter procfs mem files in the kernel and send
// them through a BPF ring buffer; the capture thread turns each into a CaptureRecord.
#pragma once

#include <memory>
#include <string>

#include "../backend.h"

namespace pmg {

// Null in a build without the eBPF backend (backend_factory.cc then reports ebpfMissingReason).
std::unique_ptr<Backend> makeEbpfBackend();
// Why this binary has no eBPF backend ("" when it has one).
const char* ebpfMissingReason();

}  // namespace pmg
