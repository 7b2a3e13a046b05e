// Test helper for guard mode: reads 4 bytes of a process's memory through its mem file and
// prints them. Usage: read_mem PID|self|tid
//   PID, self: /proc/PID/mem, /proc/self/mem.
//   tid: a second thread opens /proc/<its own tid>/mem (its own process, named by a thread id).
// The address is the start of the first mapping in the matching maps file (the executable's
// ELF header, "7f454c46"). Nothing is printed before the mem file is open: a helper that guard
// mode kills at the open prints nothing at all; stdout is unbuffered, so a helper killed
// after its read would still have printed. Prints "read <hex>" on success.
#define _GNU_SOURCE
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int read4(const char *who) {
  char maps[64], mem[64];
  snprintf(maps, sizeof maps, "/proc/%s/maps", who);
  snprintf(mem, sizeof mem, "/proc/%s/mem", who);
  FILE *m = fopen(maps, "r");
  if (!m) { perror(maps); return 1; }
  uint64_t start = 0;
  int parsed = fscanf(m, "%" SCNx64, &start);
  fclose(m);
  if (parsed != 1) { fprintf(stderr, "read_mem: cannot parse %s\n", maps); return 1; }
  int fd = open(mem, O_RDONLY | O_CLOEXEC);
  if (fd < 0) { perror(mem); return 1; }
  unsigned char buf[4];
  ssize_t n = pread(fd, buf, sizeof buf, (off_t)start);
  if (n != (ssize_t)sizeof buf) { perror("pread"); return 1; }
  printf("read %02x%02x%02x%02x\n", buf[0], buf[1], buf[2], buf[3]);
  return 0;
}

static void *by_tid(void *result) {
  char tid[24];
  snprintf(tid, sizeof tid, "%ld", (long)syscall(SYS_gettid));
  *(int *)result = read4(tid);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 2) { fprintf(stderr, "usage: read_mem PID|self|tid\n"); return 2; }
  setvbuf(stdout, NULL, _IONBF, 0);  // printed at once: a late kill cannot hide a read
  if (strcmp(argv[1], "tid") != 0) return read4(argv[1]);
  int result = 1;
  pthread_t t;
  if (pthread_create(&t, NULL, by_tid, &result) != 0) { fprintf(stderr, "pthread_create failed\n"); return 1; }
  pthread_join(t, NULL);
  return result;
}
