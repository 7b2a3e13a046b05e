// The glibc floor of portable builds (PMG_PORTABLE=1, the prebuilds; see glibc_floor.h and
// docs/install.md). Built against glibc 2.36 with libstdc++ and libgcc linked in statically,
// the addon would reference symbol versions newer than the oldest glibc Node.js 20 runs on
// (2.28 on x86-64 and on aarch64). This file defines each such symbol inside the addon with
// hidden visibility, so every call to it, from the addon's code and from the static libstdc++
// and libgcc, binds here at link time and never to the new version in libc.so.6:
//  - functions that only moved (libpthread into libc in 2.34): a jump to the same function at
//    its oldest version, bound with .symver (the arguments pass through untouched);
//  - stat family (GLIBC_2.33; before 2.33 glibc exported only __xstat64 and friends, which take
//    a structure version first): a call to the old interface, bound with .symver;
//  - functions glibc added after 2.28: gettid (2.30) is the raw system call; arc4random (2.36,
//    only reachable through libstdc++'s std::random_device) reads getrandom(2);
//    _dl_find_object (2.35, libgcc's unwinder locating .eh_frame_hdr for C++ exceptions) is
//    answered from dl_iterate_phdr (GLIBC_2.2.5);
//  - __libc_single_threaded (2.32, libstdc++'s "skip atomics" hint): 0, "maybe threaded", so
//    reference counts always use atomic operations, which is what glibc < 2.32 gets anyway.
// This file includes none of the headers that declare these symbols; a test checks every
// prebuild's symbol versions (test/install.test.ts, scripts/elf-check.mjs).
#include <features.h>

#if defined(PMG_PORTABLE) && defined(__GLIBC__)
#include <errno.h>
#include <link.h>  // dl_iterate_phdr
#include <stdint.h>
#include <sys/syscall.h>  // SYS_gettid, SYS_getrandom (macros only)

#if defined(__x86_64__)
#define PMG_GLIBC_BASE "GLIBC_2.2.5"
#define PMG_GLIBC_STATAT "GLIBC_2.4"
#define PMG_GLIBC_SETNAME "GLIBC_2.12"
#define PMG_JUMP(target) "jmp " target "@PLT\n"
constexpr int kStatVer = 1;  // _STAT_VER_LINUX of the x86-64 __xstat interface
#elif defined(__aarch64__)
#define PMG_GLIBC_BASE "GLIBC_2.17"
#define PMG_GLIBC_STATAT "GLIBC_2.17"
#define PMG_GLIBC_SETNAME "GLIBC_2.17"
#define PMG_JUMP(target) "b " target "\n"
constexpr int kStatVer = 0;  // _STAT_VER of the generic (aarch64) __xstat interface
#else
#error "portable (PMG_PORTABLE=1) builds are made for x86_64 and aarch64 only"
#endif

#define PMG_HIDDEN __attribute__((visibility("hidden")))
#define PMG_BIND(local, symbol, version) __asm__(".symver " #local "," #symbol "@" version)

// A hidden function NAME that jumps to NAME@VERSION in libc.
#define PMG_TRAMPOLINE(name, version)                                                      \
  __asm__(".pushsection .text\n.globl " #name "\n.hidden " #name "\n.type " #name          \
          ",%function\n" #name ":\n" PMG_JUMP("pmg_old_" #name) ".size " #name ",.-" #name \
                                                                "\n.popsection\n");        \
  __asm__(".symver pmg_old_" #name "," #name "@" version)

PMG_TRAMPOLINE(pthread_create, PMG_GLIBC_BASE);
PMG_TRAMPOLINE(pthread_join, PMG_GLIBC_BASE);
PMG_TRAMPOLINE(pthread_detach, PMG_GLIBC_BASE);
PMG_TRAMPOLINE(pthread_once, PMG_GLIBC_BASE);
PMG_TRAMPOLINE(pthread_key_create, PMG_GLIBC_BASE);
PMG_TRAMPOLINE(__pthread_key_create, PMG_GLIBC_BASE);
PMG_TRAMPOLINE(pthread_key_delete, PMG_GLIBC_BASE);
PMG_TRAMPOLINE(pthread_getspecific, PMG_GLIBC_BASE);
PMG_TRAMPOLINE(pthread_setspecific, PMG_GLIBC_BASE);
PMG_TRAMPOLINE(pthread_setname_np, PMG_GLIBC_SETNAME);

struct stat;  // the same layout as struct stat64 on both 64-bit targets

extern "C" {
int pmg_xstat(int ver, const char* path, struct stat* buf);
int pmg_lxstat(int ver, const char* path, struct stat* buf);
int pmg_fxstat(int ver, int fd, struct stat* buf);
int pmg_fxstatat(int ver, int dirfd, const char* path, struct stat* buf, int flags);
long syscall(long number, ...);
}
PMG_BIND(pmg_xstat, __xstat64, PMG_GLIBC_BASE);
PMG_BIND(pmg_lxstat, __lxstat64, PMG_GLIBC_BASE);
PMG_BIND(pmg_fxstat, __fxstat64, PMG_GLIBC_BASE);
PMG_BIND(pmg_fxstatat, __fxstatat64, PMG_GLIBC_STATAT);

// Layout of glibc's struct dl_find_object on targets without DLFO_STRUCT_HAS_EH_DBASE or
// DLFO_STRUCT_HAS_EH_COUNT (x86-64, aarch64): <dlfcn.h>, glibc 2.35.
struct DlFindObject {
  unsigned long long flags;
  void* map_start;
  void* map_end;
  void* link_map;
  void* eh_frame;
  unsigned long long reserved[7];
};

namespace {
struct FindObject {
  uintptr_t pc;
  DlFindObject* out;
  bool found;
};

int FindObjectCallback(struct dl_phdr_info* info, size_t, void* data) {
  auto* q = static_cast<FindObject*>(data);
  uintptr_t lo = UINTPTR_MAX, hi = 0;
  bool contains = false;
  const ElfW(Phdr)* eh = nullptr;
  for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type == PT_GNU_EH_FRAME) eh = &ph;
    if (ph.p_type != PT_LOAD) continue;
    uintptr_t start = info->dlpi_addr + ph.p_vaddr;
    uintptr_t end = start + ph.p_memsz;
    if (start < lo) lo = start;
    if (end > hi) hi = end;
    if (q->pc >= start && q->pc < end) contains = true;
  }
  if (!contains) return 0;
  q->found = true;
  q->out->flags = 0;
  q->out->map_start = reinterpret_cast<void*>(lo);
  q->out->map_end = reinterpret_cast<void*>(hi);
  q->out->link_map = nullptr;  // not used by libgcc's unwinder
  q->out->eh_frame = eh ? reinterpret_cast<void*>(info->dlpi_addr + eh->p_vaddr) : nullptr;
  return 1;
}
}  // namespace

extern "C" {
// _FILE_OFFSET_BITS=64 (node-gyp's default) makes callers use the *64 names; libstdc++ uses
// the plain ones. On these 64-bit targets both are the same call.
PMG_HIDDEN int stat64(const char* path, struct stat* buf) { return pmg_xstat(kStatVer, path, buf); }
PMG_HIDDEN int stat(const char* path, struct stat* buf) { return pmg_xstat(kStatVer, path, buf); }
PMG_HIDDEN int lstat64(const char* path, struct stat* buf) {
  return pmg_lxstat(kStatVer, path, buf);
}
PMG_HIDDEN int lstat(const char* path, struct stat* buf) { return pmg_lxstat(kStatVer, path, buf); }
PMG_HIDDEN int fstat64(int fd, struct stat* buf) { return pmg_fxstat(kStatVer, fd, buf); }
PMG_HIDDEN int fstat(int fd, struct stat* buf) { return pmg_fxstat(kStatVer, fd, buf); }
PMG_HIDDEN int fstatat64(int dirfd, const char* path, struct stat* buf, int flags) {
  return pmg_fxstatat(kStatVer, dirfd, path, buf, flags);
}
PMG_HIDDEN int fstatat(int dirfd, const char* path, struct stat* buf, int flags) {
  return pmg_fxstatat(kStatVer, dirfd, path, buf, flags);
}

PMG_HIDDEN int gettid(void) { return static_cast<int>(syscall(SYS_gettid)); }

PMG_HIDDEN uint32_t arc4random(void) {
  uint32_t value = 0;
  auto* p = reinterpret_cast<unsigned char*>(&value);
  size_t got = 0;
  while (got < sizeof value) {
    long n = syscall(SYS_getrandom, p + got, sizeof value - got, 0);
    if (n > 0)
      got += static_cast<size_t>(n);
    else if (errno != EINTR)
      __builtin_trap();  // as glibc's arc4random: never returns non-random
  }
  return value;
}

// <link.h> includes <dlfcn.h>, which declares _dl_find_object: define it under another C name.
PMG_HIDDEN int pmg_dl_find_object(void* pc, DlFindObject* result) __asm__("_dl_find_object");
PMG_HIDDEN int pmg_dl_find_object(void* pc, DlFindObject* result) {
  FindObject q{reinterpret_cast<uintptr_t>(pc), result, false};
  dl_iterate_phdr(FindObjectCallback, &q);
  return q.found ? 0 : -1;
}

PMG_HIDDEN char __libc_single_threaded = 0;
}
#endif
