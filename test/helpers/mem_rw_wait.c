// Test helper for observed access on the fanotify backend, paced by its stdin so that the test
// can see the open's finding (and the watcher place its mark) before anything is read.
// Usage: mem_rw_wait PID ADDR_HEX READS WRITES CHUNK close|exit [OTHER_READS]
// Opens /proc/PID/mem (O_RDWR if WRITES > 0, else O_RDONLY), prints "open <fd>", waits for a
// line on stdin, then makes READS preads and WRITES pwrites (writing back what it read) of
// CHUNK bytes at ADDR, and OTHER_READS 4 KiB reads of /dev/zero between them; prints
// "done <fd>". Then "close": closes the fd, prints "closed" and waits for another line before it
// exits (so that its close is read while it runs); "exit": exits with the fd open.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int wait_line(void) {
  char line[64];
  return fgets(line, sizeof line, stdin) != NULL;
}

int main(int argc, char **argv) {
  if (argc < 7) {
    fprintf(stderr, "usage: mem_rw_wait PID ADDR_HEX READS WRITES CHUNK close|exit [OTHER_READS]\n");
    return 2;
  }
  char path[64];
  snprintf(path, sizeof path, "/proc/%s/mem", argv[1]);
  unsigned long addr = strtoul(argv[2], NULL, 16);
  long reads = atol(argv[3]), writes = atol(argv[4]), chunk = atol(argv[5]);
  int close_it = strcmp(argv[6], "close") == 0;
  long others = argc > 7 ? atol(argv[7]) : 0;
  if (chunk <= 0 || chunk > (1 << 20) || reads < 0 || writes < 0 || others < 0) {
    fprintf(stderr, "mem_rw_wait: bad counts\n");
    return 2;
  }
  int fd = open(path, (writes > 0 ? O_RDWR : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) { perror(path); return 1; }
  int zero = open("/dev/zero", O_RDONLY | O_CLOEXEC);
  if (zero < 0) { perror("/dev/zero"); return 1; }
  char *buf = calloc(1, (size_t)chunk);
  char other[4096];
  if (!buf) { perror("calloc"); return 1; }
  printf("open %d\n", fd);
  fflush(stdout);
  if (!wait_line()) return 3;
  long n = reads > writes ? reads : writes;
  for (long i = 0; i < n; i++) {
    if (i < reads && pread(fd, buf, (size_t)chunk, (off_t)addr) != chunk) { perror("pread"); return 1; }
    if (i < writes && pwrite(fd, buf, (size_t)chunk, (off_t)addr) != chunk) { perror("pwrite"); return 1; }
    for (long j = i; j < others; j += n)
      if (read(zero, other, sizeof other) != (ssize_t)sizeof other) { perror("read"); return 1; }
  }
  printf("done %d\n", fd);
  fflush(stdout);
  if (!close_it) return 0;
  if (close(fd) != 0) { perror("close"); return 1; }
  printf("closed\n");
  fflush(stdout);
  wait_line();
  return 0;
}
