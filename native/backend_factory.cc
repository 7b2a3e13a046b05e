#include "backend_factory.h"

#include <utility>

#include "fanotify/fanotify_backend.h"

namespace pmg {

// Declared weak so the binary links without native/audit/ (a build or branch without it);
// native/audit/audit_backend.cc defines it, and the entry below then picks it up.
std::unique_ptr<Backend> makeAuditBackend() __attribute__((weak));
// Likewise for native/ebpf/, which defines it only when built with the eBPF backend.
std::unique_ptr<Backend> makeEbpfBackend() __attribute__((weak));
const char* ebpfMissingReason();  // native/ebpf/ebpf_backend.cc, in every build

namespace {

// Stands in for a backend this binary was built without: start() says so.
class MissingBackend : public Backend {
 public:
  MissingBackend(const char* name, ErrorCode code, std::string why = "")
      : name_(name), code_(code), why_(std::move(why)) {}
  const char* name() const override { return name_; }
  void start(EventSink&, ProcessTable&) override {
    throw CaptureError{code_, std::string("the ") + name_ +
                                  " backend is not built into this version of procmem-guard" +
                                  (why_.empty() ? "" : " (" + why_ + ")") +
                                  "; use backend 'fanotify'"};
  }
  void stop() override {}
  std::map<std::string, uint64_t> stats() const override { return {}; }
  void setGuard(const GuardConfig&) override {}  // start() says why there is no backend

 private:
  const char* name_;
  ErrorCode code_;
  std::string why_;
};

}  // namespace

std::unique_ptr<Backend> makeBackend(const std::string& name) {
  if (name == "fanotify") return makeFanotifyBackend();
  if (name == "ebpf") {
    if (makeEbpfBackend) return makeEbpfBackend();
    return std::make_unique<MissingBackend>("ebpf", ErrorCode::kEbpfUnavailable,
                                            ebpfMissingReason());
  }
  if (name == "audit") {
    if (makeAuditBackend) return makeAuditBackend();
    return std::make_unique<MissingBackend>("audit", ErrorCode::kAuditUnavailable);
  }
  return nullptr;
}

}  // namespace pmg
