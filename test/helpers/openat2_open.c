// Test helper: opens PATH with openat2(2) (flags passed in struct open_how, which audit does not
// log), holds the fd HOLD_MS (default 300) and exits. Prints "fd=<fd>".
// Usage: openat2_open PATH r|w|rw [HOLD_MS]
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: openat2_open PATH r|w|rw [HOLD_MS]\n"); return 2; }
  int mode = strcmp(argv[2], "r") == 0 ? O_RDONLY : strcmp(argv[2], "w") == 0 ? O_WRONLY : O_RDWR;
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = (unsigned long long)(mode | O_CLOEXEC);
  long fd = syscall(SYS_openat2, AT_FDCWD, argv[1], &how, sizeof how);
  if (fd < 0) { perror(argv[1]); return 1; }
  printf("fd=%ld\n", fd);
  fflush(stdout);
  usleep(1000 * (argc > 3 ? atoi(argv[3]) : 300));
  return 0;
}
