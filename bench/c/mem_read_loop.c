// Reads another process's memory through its mem file in a loop, paced by stdin: opens
// /proc/PID/mem, prints "ready <fd>", waits for a line on stdin, then makes N preads of 4 KiB at
// ADDR and prints one JSON line {reads, seconds, readsPerSec}. With the fanotify backend's
// observed access on, each of those reads queues an access event on the marked file: this shows
// what that costs the reader. Usage: mem_read_loop PID ADDR_HEX N
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 4) { fprintf(stderr, "usage: mem_read_loop PID ADDR_HEX N\n"); return 2; }
  char path[64];
  snprintf(path, sizeof path, "/proc/%s/mem", argv[1]);
  unsigned long addr = strtoul(argv[2], NULL, 16);
  long n = atol(argv[3]);
  if (n <= 0) { fprintf(stderr, "mem_read_loop: N must be a positive integer\n"); return 2; }
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) { perror(path); return 1; }
  printf("ready %d\n", fd);
  fflush(stdout);
  char line[16];
  if (!fgets(line, sizeof line, stdin)) return 3;
  static char buf[4096];
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (long i = 0; i < n; i++)
    if (pread(fd, buf, sizeof buf, (off_t)addr) != (ssize_t)sizeof buf) { perror("pread"); return 1; }
  clock_gettime(CLOCK_MONOTONIC, &b);
  double s = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
  printf("{\"reads\":%ld,\"seconds\":%.6f,\"readsPerSec\":%.0f}\n", n, s, n / s);
  fflush(stdout);
  if (close(fd) != 0) { perror("close"); return 1; }
  return 0;
}
