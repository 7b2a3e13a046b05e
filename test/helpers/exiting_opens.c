// Test helper: COUNT times, forks a child that exits at once and opens /proc/<child>/FILE
// while it exits, so that the file's process is gone when a watcher reads the open event.
// Usage: exiting_opens FILE COUNT (FILE relative to /proc/<pid>/, e.g. mountinfo)
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 3) { fprintf(stderr, "usage: exiting_opens FILE COUNT\n"); return 2; }
  int count = atoi(argv[2]), opened = 0;
  for (int i = 0; i < count; i++) {
    pid_t p = fork();
    if (p < 0) { perror("fork"); return 1; }
    if (p == 0) _exit(0);
    char path[96];
    snprintf(path, sizeof path, "/proc/%d/%s", p, argv[1]);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) { opened++; close(fd); }
    waitpid(p, NULL, 0);
  }
  printf("%d\n", opened);
  return 0;
}
