// Baseline for the benchmarks: the practical limit of fanotify capture on this machine.
// A minimal reader with a filesystem mark on /proc for FAN_OPEN: drain, readlink each event's
// fd, close, count. Runs until SIGINT/SIGTERM, then prints one JSON line with its counters.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <unistd.h>

static volatile sig_atomic_t stopping;
static void on_signal(int sig) { (void)sig; stopping = 1; }

int main(void) {
  struct sigaction sa = {0};
  sa.sa_handler = on_signal;  // no SA_RESTART: poll() returns EINTR on a signal
  if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0) {
    perror("sigaction");
    return 1;
  }
  int fan = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK, O_RDONLY | O_LARGEFILE);
  if (fan < 0) { perror("fanotify_init"); return 1; }
  if (fanotify_mark(fan, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FAN_OPEN, AT_FDCWD, "/proc") != 0) {
    perror("fanotify_mark /proc");
    return 1;
  }
  printf("ready\n");
  fflush(stdout);
  static char buf[256 * 1024] __attribute__((aligned(8)));
  unsigned long long events = 0, overflows = 0, mem = 0, read_errors = 0;
  char link[64], path[4096];
  struct pollfd pfd = {.fd = fan, .events = POLLIN};
  while (!stopping) {
    int pr = poll(&pfd, 1, -1);
    if (pr < 0) {
      if (errno == EINTR) continue;
      perror("poll");
      return 1;
    }
    for (;;) {
      ssize_t n = read(fan, buf, sizeof buf);
      if (n < 0) {
        if (errno == EAGAIN) break;
        if (errno == EINTR) continue;
        read_errors++;  // ESRCH etc.: the event is gone; count it
        continue;
      }
      struct fanotify_event_metadata *m = (struct fanotify_event_metadata *)buf;
      for (; FAN_EVENT_OK(m, n); m = FAN_EVENT_NEXT(m, n)) {
        if (m->mask & FAN_Q_OVERFLOW) { overflows++; continue; }
        events++;
        if (m->fd >= 0) {
          snprintf(link, sizeof link, "/proc/self/fd/%d", m->fd);
          ssize_t len = readlink(link, path, sizeof path - 1);
          if (len > 4 && memcmp(path + len - 4, "/mem", 4) == 0) mem++;
          close(m->fd);
        }
      }
    }
  }
  printf("{\"events\":%llu,\"overflows\":%llu,\"mem\":%llu,\"readErrors\":%llu}\n", events,
         overflows, mem, read_errors);
  close(fan);
  return 0;
}
