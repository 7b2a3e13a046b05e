// Force-included (g++ -include) into every translation unit of a portable build (PMG_PORTABLE=1:
// the prebuilds and the project's own dev/CI builds; never a consumer's fallback source build).
// Together with glibc_floor.cc it keeps the addon loadable on glibc 2.28 (Node.js 20's floor on
// x86-64 and aarch64) although it is built against glibc 2.36. See docs/install.md.
#pragma once

#if defined(PMG_PORTABLE) && defined(__cplusplus)
#include <cstddef>  // defines libstdc++'s configuration macros (bits/c++config.h)

// libstdc++ (GCC >= 10) makes condition_variable/timed_mutex waits on steady_clock call
// pthread_cond_clockwait, pthread_mutex_clocklock and pthread_rwlock_clock*lock, which glibc
// added in 2.30 (GLIBC_2.34 in today's libc.so.6) and which have no older version to bind to.
// Without these macros libstdc++ takes its portable path: it converts the steady_clock deadline
// to a system_clock one, waits with pthread_cond_timedwait (GLIBC_2.3.2) and re-checks
// steady_clock on wake-up, so a wait never ends early; a wall-clock jump during a wait can only
// make a timeout late.
#undef _GLIBCXX_USE_PTHREAD_COND_CLOCKWAIT
#undef _GLIBCXX_USE_PTHREAD_MUTEX_CLOCKLOCK
#undef _GLIBCXX_USE_PTHREAD_RWLOCK_CLOCKLOCK
#endif
