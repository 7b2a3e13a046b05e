// Read-heavy workloads on a regular file in the page cache, the kind a host runs all day:
// sequential read(2)s of 128 KiB (what cat, cp and sha256sum do), then 4 KiB pread(2)s at
// random page-aligned offsets (what a database does). One JSON line
// {seqBytes, seqSeconds, seqReadsPerSec, seqMiBPerSec, preads, preadSeconds, preadsPerSec}.
// Each call's syscall exit runs the eBPF backend's io tracking programs when they are attached
// (native/ebpf/io_track.bpf.h); bench/io-track.mjs compares runs with and without them.
// Usage: file_read_loop FILE SEQ_BYTES PREADS  (FILE: at least 128 KiB, already cached)
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SEQ_BLOCK (128 * 1024)
#define PAGE 4096

static double since(const struct timespec *a) {
  struct timespec b;
  clock_gettime(CLOCK_MONOTONIC, &b);
  return (b.tv_sec - a->tv_sec) + (b.tv_nsec - a->tv_nsec) / 1e9;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: file_read_loop FILE SEQ_BYTES PREADS\n");
    return 2;
  }
  long long seq_bytes = atoll(argv[2]);
  long preads = atol(argv[3]);
  if (seq_bytes <= 0 || preads <= 0) {
    fprintf(stderr, "file_read_loop: SEQ_BYTES and PREADS must be positive integers\n");
    return 2;
  }
  int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    perror("file_read_loop: open");
    return 1;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    perror("file_read_loop: fstat");
    return 1;
  }
  if (st.st_size < SEQ_BLOCK) {
    fprintf(stderr, "file_read_loop: %s is smaller than 128 KiB\n", argv[1]);
    return 2;
  }
  static char buf[SEQ_BLOCK];
  struct timespec a;
  clock_gettime(CLOCK_MONOTONIC, &a);
  long long done = 0;
  long seq_calls = 0;
  while (done < seq_bytes) {
    ssize_t n = read(fd, buf, SEQ_BLOCK);
    if (n < 0) {
      perror("file_read_loop: read");
      return 1;
    }
    seq_calls++;
    if (n == 0) {
      if (lseek(fd, 0, SEEK_SET) != 0) {
        perror("file_read_loop: lseek");
        return 1;
      }
      continue;
    }
    done += n;
  }
  double ss = since(&a);
  uint64_t pages = (uint64_t)st.st_size / PAGE, x = 88172645463325252ull;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (long i = 0; i < preads; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;  // xorshift64: offsets the prefetcher cannot guess
    if (pread(fd, buf, PAGE, (off_t)((x % pages) * PAGE)) != PAGE) {
      perror("file_read_loop: pread");
      return 1;
    }
  }
  double ps = since(&a);
  printf("{\"seqBytes\":%lld,\"seqSeconds\":%.6f,\"seqReadsPerSec\":%.1f,\"seqMiBPerSec\":%.1f,"
         "\"preads\":%ld,\"preadSeconds\":%.6f,\"preadsPerSec\":%.1f}\n",
         done, ss, seq_calls / ss, done / ss / 1048576.0, preads, ps, preads / ps);
  return close(fd) == 0 ? 0 : 1;
}
