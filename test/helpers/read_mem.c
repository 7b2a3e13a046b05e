// Test helper for guard mode: reads 4 bytes of process PID's memory through its mem file and
// prints them. Usage: read_mem PID|self
// The address is the start of the first mapping in /proc/PID/maps (the executable's ELF
// header, "7f454c46"). Nothing is printed before the mem file is open: a helper that guard
// mode kills at the open prints nothing at all. Prints "read <hex>" on success.
#define _GNU_SOURCE
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 2) { fprintf(stderr, "usage: read_mem PID|self\n"); return 2; }
  char maps[64], mem[64];
  snprintf(maps, sizeof maps, "/proc/%s/maps", argv[1]);
  snprintf(mem, sizeof mem, "/proc/%s/mem", argv[1]);
  FILE *m = fopen(maps, "r");
  if (!m) { perror(maps); return 1; }
  uint64_t start = 0;
  if (fscanf(m, "%" SCNx64, &start) != 1) { fprintf(stderr, "read_mem: cannot parse %s\n", maps); return 1; }
  fclose(m);
  int fd = open(mem, O_RDONLY | O_CLOEXEC);
  if (fd < 0) { perror(mem); return 1; }
  unsigned char buf[4];
  ssize_t n = pread(fd, buf, sizeof buf, (off_t)start);
  if (n != (ssize_t)sizeof buf) { perror("pread"); return 1; }
  printf("read %02x%02x%02x%02x\n", buf[0], buf[1], buf[2], buf[3]);
  return 0;
}
