// Test helper: the fresh-procfs race (issue 9). In one process, with no exec in between:
// enters a private mount namespace, mounts a new procfs on a temporary directory, opens
// <mount>/<PID>/mem with the given access mode, closes it, unmounts and exits. A watcher that
// learns about procfs instances only after they exist has no time to cover this one.
// Usage: fresh_procfs PID r|w|rw      Prints "opened <our pid> <path>" on success.
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: fresh_procfs PID r|w|rw\n"); return 2; }
  int mode = strcmp(argv[2], "r") == 0 ? O_RDONLY : strcmp(argv[2], "w") == 0 ? O_WRONLY
           : strcmp(argv[2], "rw") == 0 ? O_RDWR : -1;
  if (mode < 0) { fprintf(stderr, "fresh_procfs: mode must be r, w or rw\n"); return 2; }
  if (unshare(CLONE_NEWNS) != 0) { perror("unshare"); return 1; }
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) { perror("mount private"); return 1; }
  char dir[] = "/tmp/pmg-fresh-procfs-XXXXXX";
  if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }
  int rc = 1;
  if (mount("proc", dir, "proc", 0, NULL) != 0) {
    perror("mount proc");
  } else {
    char path[256];
    snprintf(path, sizeof path, "%s/%s/mem", dir, argv[1]);
    int fd = open(path, mode | O_CLOEXEC);
    if (fd < 0) {
      perror(path);
    } else {
      close(fd);
      printf("opened %d %s\n", getpid(), path);
      rc = 0;
    }
    if (umount2(dir, MNT_DETACH) != 0) perror("umount");
  }
  if (rmdir(dir) != 0) perror("rmdir");
  return rc;
}
