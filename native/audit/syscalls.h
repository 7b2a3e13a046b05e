// The syscalls the audit backend's rules name, for both ABIs of the build architecture and for
// io_uring, and how an event's (arch, syscall) maps back to them.
#pragma once

#include <linux/audit.h>

#include <cstdint>

namespace pmg::audit {

// kMount: mount(2) and move_mount(2), watched only to notice new procfs instances at once.
enum class Call { kOpen, kOpenat, kOpenat2, kMount };
// The "ABI" of io_uring operations (URINGOP records carry no arch): IORING_OP_OPENAT(2).
constexpr uint32_t kArchUring = 0;
struct SyscallId {
  uint32_t arch;
  int nr;
  Call call;
};

#if defined(__x86_64__)
constexpr uint32_t kArch64 = AUDIT_ARCH_X86_64, kArch32 = AUDIT_ARCH_I386;
inline constexpr SyscallId kSyscalls[] = {
    {kArch64, 2, Call::kOpen},       {kArch64, 257, Call::kOpenat},
    {kArch64, 437, Call::kOpenat2},  {kArch32, 5, Call::kOpen},
    {kArch32, 295, Call::kOpenat},   {kArch32, 437, Call::kOpenat2},
    {kArchUring, 18, Call::kOpenat}, {kArchUring, 28, Call::kOpenat2},
    {kArch64, 165, Call::kMount},    {kArch64, 429, Call::kMount},
    {kArch32, 21, Call::kMount},     {kArch32, 429, Call::kMount}};
#elif defined(__aarch64__)
constexpr uint32_t kArch64 = AUDIT_ARCH_AARCH64, kArch32 = AUDIT_ARCH_ARM;
inline constexpr SyscallId kSyscalls[] = {
    {kArch64, 56, Call::kOpenat},     {kArch64, 437, Call::kOpenat2},
    {kArch32, 5, Call::kOpen},        {kArch32, 322, Call::kOpenat},
    {kArch32, 437, Call::kOpenat2},   {kArchUring, 18, Call::kOpenat},
    {kArchUring, 28, Call::kOpenat2}, {kArch64, 40, Call::kMount},
    {kArch64, 429, Call::kMount},     {kArch32, 21, Call::kMount},
    {kArch32, 429, Call::kMount}};
#else
#error "audit backend: add the open/openat/openat2 numbers of this architecture"
#endif

// CaptureRecord::syscall_nr uses the x86-64 numbers whatever the ABI of the caller.
inline uint32_t canonicalNr(Call c) {
  return c == Call::kOpen ? 2 : c == Call::kOpenat ? 257 : 437;
}

inline const SyscallId* findSyscall(uint32_t arch, int nr) {
  for (const SyscallId& s : kSyscalls) {
    if (s.arch == arch && s.nr == nr) return &s;
  }
  return nullptr;
}

}  // namespace pmg::audit
