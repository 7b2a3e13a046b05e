// Test helper for the gdb test: stops itself with SIGTRAP, so that a debugger that started it
// gets control at a known point and can read its memory; exits 0 when continued. Run alone,
// SIGTRAP's default action would end it: use it under a debugger only.
#include <signal.h>

int main(void) {
  raise(SIGTRAP);
  return 0;
}
