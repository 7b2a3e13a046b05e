// Test and bench helper: opens /proc/<pid>/mem read-only and closes it, once for each PID
// argument, then exits. Run as an unprivileged user against its own processes, many at once,
// it is the mem-open flood of issue 12. Usage: flood_open PID...
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv) {
  char path[64];
  int opened = 0;
  for (int i = 1; i < argc; i++) {
    snprintf(path, sizeof path, "/proc/%s/mem", argv[i]);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    opened++;
    close(fd);
  }
  printf("%d\n", opened);
  return 0;
}
