// Holds another process's mem file open (so that the eBPF backend tracks one fd) until killed.
// Prints "ready <fd>" once the file is open. Usage: mem_holder PID
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: mem_holder PID\n"); return 2; }
  char path[64];
  snprintf(path, sizeof path, "/proc/%s/mem", argv[1]);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) { perror(path); return 1; }
  printf("ready %d\n", fd);
  fflush(stdout);
  for (;;) pause();
}
