// Test helper: opens /proc/PID/mem and reads (or writes) BYTES at ADDR in CHUNK-byte
// preads/pwrites, then ends its use of the fd as END says: "close" (the default) close(2)s it,
// "close_range" closes it with close_range(2), "exec" exec's /bin/true (the fd is
// close-on-exec), "exit" exits without closing it.
// Usage: mem_io PID ADDR_HEX r|w BYTES CHUNK [close|close_range|exec|exit]
// Prints "fd <fd> done <bytes> in <calls>" before it closes or exits.
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/close_range.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 6) {
    fprintf(stderr, "usage: mem_io PID ADDR_HEX r|w BYTES CHUNK [close|close_range|exec|exit]\n");
    return 2;
  }
  char path[64];
  snprintf(path, sizeof path, "/proc/%s/mem", argv[1]);
  unsigned long addr = strtoul(argv[2], NULL, 16);
  int writing = strcmp(argv[3], "w") == 0;
  long bytes = atol(argv[4]), chunk = atol(argv[5]);
  const char *end = argc < 7 ? "close" : argv[6];
  if (chunk <= 0 || chunk > (1 << 20)) { fprintf(stderr, "mem_io: CHUNK must be 1..1048576\n"); return 2; }
  int fd = open(path, (writing ? O_WRONLY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) { perror(path); return 1; }
  char *buf = calloc(1, (size_t)chunk);
  if (!buf) { perror("calloc"); return 1; }
  long done = 0, calls = 0;
  while (done < bytes) {
    size_t n = (size_t)(bytes - done < chunk ? bytes - done : chunk);
    ssize_t r = writing ? pwrite(fd, buf, n, (off_t)(addr + done))
                        : pread(fd, buf, n, (off_t)(addr + done));
    calls++;
    if (r <= 0) { perror(writing ? "pwrite" : "pread"); return 1; }
    done += r;
  }
  printf("fd %d done %ld in %ld\n", fd, done, calls);
  fflush(stdout);
  if (strcmp(end, "close") == 0 && close(fd) != 0) { perror("close"); return 1; }
  if (strcmp(end, "close_range") == 0 && syscall(SYS_close_range, fd, fd, 0) != 0) {
    perror("close_range");
    return 1;
  }
  if (strcmp(end, "exec") == 0) {
    execl("/bin/true", "true", (char *)NULL);
    perror("exec /bin/true");
    return 1;
  }
  return 0;
}
