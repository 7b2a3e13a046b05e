// What the static libbpf and libelf need to link into a shared object (eBPF builds; see
// docs/ebpf-capture.md, "Building"). Debian builds these archives for executables (PIE), not
// for shared objects, which leaves two kinds of references that a .so cannot hold:
//  1. libbpf.a refers to glibc's `stderr` with a PC-relative relocation (R_X86_64_PC32).
//     scripts/ebpf-build.mjs copies the archive with that symbol renamed to pmg_stderr
//     (objcopy --redefine-sym), defined below, inside the addon, as glibc's stderr.
//  2. Debian's libelf.a is not built for shared objects: elf_error.o keeps its error number in a
// thread-local variable with the local-exec TLS model (R_X86_64_TPOFF32), which cannot be
// linked into a .so. Defining the three functions here means the linker never pulls that
// member from the archive (see docs/ebpf-capture.md, "Building"). libbpf only uses
// elf_errmsg() in its diagnostics, so the messages here are plain.
#include "ebpf_config.h"

#ifdef PMG_EBPF

#include <cstdio>

extern "C" {
__attribute__((visibility("hidden"))) FILE* pmg_stderr = stderr;
}

namespace {
thread_local int g_elf_error = 0;
thread_local char g_elf_message[48];
}  // namespace

extern "C" {

void __libelf_seterrno(int value) { g_elf_error = value; }

int elf_errno(void) {
  int e = g_elf_error;
  g_elf_error = 0;
  return e;
}

const char* elf_errmsg(int error) {
  int e = error == -1 ? g_elf_error : error == 0 ? g_elf_error : error;
  if (error == 0 && e == 0) return nullptr;  // libelf: no error pending, no message
  if (e == 0) return "no error";
  std::snprintf(g_elf_message, sizeof(g_elf_message), "libelf error %d", e);
  return g_elf_message;
}

}  // extern "C"

#endif  // PMG_EBPF
