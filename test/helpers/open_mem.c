// Test helper: opens a file with the given access mode, optionally holds it, and exits.
// Usage: open_mem PATH r|w|rw [HOLD_MS]
// PATH may contain "self" or "thread-self" as usual. Prints "opened <pid> <tid>" on success.
// With HOLD_MS 0 (default) it closes and exits at once: the "open, close, exit" case.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: open_mem PATH r|w|rw [HOLD_MS]\n"); return 2; }
  int mode = strcmp(argv[2], "r") == 0 ? O_RDONLY : strcmp(argv[2], "w") == 0 ? O_WRONLY
           : strcmp(argv[2], "rw") == 0 ? O_RDWR : -1;
  if (mode < 0) { fprintf(stderr, "open_mem: mode must be r, w or rw\n"); return 2; }
  long hold_ms = argc > 3 ? atol(argv[3]) : 0;
  int fd = open(argv[1], mode | O_CLOEXEC);
  if (fd < 0) { perror(argv[1]); return 1; }
  if (hold_ms > 0) {
    struct timespec ts = {hold_ms / 1000, (hold_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
  }
  close(fd);
  printf("opened %d %ld\n", getpid(), (long)syscall(SYS_gettid));
  return 0;
}
