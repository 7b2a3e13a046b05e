// A read-heavy non-procfs workload: N reads of BLOCK bytes (default 4096) from /dev/zero, then
// N writes of BLOCK bytes to /dev/null, then N getppid() calls, as fast as possible; one JSON
// line {reads, readSeconds, readsPerSec, writes, writeSeconds, writesPerSec, getppidPerSec}.
// Every read and write exit runs the eBPF backend's io tracking programs
// (native/ebpf/io_track.bpf.h): this shows what they cost a process whose fds are not tracked.
// Usage: rw_loop [N [BLOCK]]
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double since(const struct timespec *a) {
  struct timespec b;
  clock_gettime(CLOCK_MONOTONIC, &b);
  return (b.tv_sec - a->tv_sec) + (b.tv_nsec - a->tv_nsec) / 1e9;
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 2000000;
  long block = argc > 2 ? atol(argv[2]) : 4096;
  if (n <= 0) { fprintf(stderr, "rw_loop: N must be a positive integer\n"); return 2; }
  if (block <= 0 || block > (1 << 20)) { fprintf(stderr, "rw_loop: BLOCK must be 1..1048576\n"); return 2; }
  int in = open("/dev/zero", O_RDONLY | O_CLOEXEC), out = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (in < 0 || out < 0) { perror("rw_loop: open"); return 1; }
  static char buf[1 << 20];
  struct timespec a;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (long i = 0; i < n; i++)
    if (read(in, buf, (size_t)block) != (ssize_t)block) { perror("rw_loop: read"); return 1; }
  double rs = since(&a);
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (long i = 0; i < n; i++)
    if (write(out, buf, (size_t)block) != (ssize_t)block) { perror("rw_loop: write"); return 1; }
  double ws = since(&a);
  clock_gettime(CLOCK_MONOTONIC, &a);
  long sum = 0;
  for (long i = 0; i < n; i++) sum += syscall(SYS_getppid);  // no libc caching
  double gs = since(&a);
  if (sum == 0) fprintf(stderr, "rw_loop: no parent?\n");
  printf("{\"reads\":%ld,\"readSeconds\":%.6f,\"readsPerSec\":%.1f,\"writes\":%ld,"
         "\"writeSeconds\":%.6f,\"writesPerSec\":%.1f,\"getppidPerSec\":%.1f}\n",
         n, rs, n / rs, n, ws, n / ws, n / gs);
  return 0;
}
