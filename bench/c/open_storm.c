// The procfs open storm: open and close /proc/self/stat N times as fast as possible, then
// print one JSON line {opens, seconds, opensPerSec}. Usage: open_storm [N]
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 300000;
  if (n <= 0) { fprintf(stderr, "open_storm: N must be a positive integer\n"); return 2; }
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (long i = 0; i < n; i++) {
    int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    if (fd < 0) { perror("open /proc/self/stat"); return 1; }
    close(fd);
  }
  clock_gettime(CLOCK_MONOTONIC, &b);
  double s = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
  printf("{\"opens\":%ld,\"seconds\":%.6f,\"opensPerSec\":%.1f}\n", n, s, n / s);
  return 0;
}
