// Latency probe: for each byte read on stdin, read CLOCK_MONOTONIC, open /proc/<pid>/mem
// read-only, close it, and print the clock reading (ns) on stdout. The benchmark writes one
// byte per finding it received, so each open is matched to exactly one finding.
// Usage: mem_opener PID
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 2) { fprintf(stderr, "usage: mem_opener PID\n"); return 2; }
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/mem", atoi(argv[1]));
  setvbuf(stdout, NULL, _IOLBF, 0);
  char c;
  while (read(0, &c, 1) == 1) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) { perror(path); return 1; }
    close(fd);
    printf("%lld\n", (long long)t.tv_sec * 1000000000LL + t.tv_nsec);
  }
  return 0;
}
