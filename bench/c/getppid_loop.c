// A non-procfs syscall loop: getppid() N times as fast as possible, then one JSON line
// {opens, seconds, opensPerSec} (the storm's field names; here they count calls). Every
// syscall exit passes through tp_btf/sys_exit, so this shows what the eBPF backend costs every
// process on the host, not only procfs openers. Usage: getppid_loop [N]
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 3000000;
  if (n <= 0) { fprintf(stderr, "getppid_loop: N must be a positive integer\n"); return 2; }
  struct timespec a, b;
  long sum = 0;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (long i = 0; i < n; i++) sum += syscall(SYS_getppid);  // no libc caching
  clock_gettime(CLOCK_MONOTONIC, &b);
  if (sum == 0) fprintf(stderr, "getppid_loop: no parent?\n");
  double s = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
  printf("{\"opens\":%ld,\"seconds\":%.6f,\"opensPerSec\":%.1f}\n", n, s, n / s);
  return 0;
}
