// Test helper: binds a Unix datagram socket at argv[1] (the local syslog case) and prints
// every datagram it receives on one line of stdout. Node has no Unix datagram sockets.
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  strncpy(addr.sun_path, argv[1], sizeof addr.sun_path - 1);
  unlink(argv[1]);
  if (fd < 0 || bind(fd, (struct sockaddr*)&addr, sizeof addr) != 0) {
    perror("bind");
    return 1;
  }
  printf("ready\n");
  fflush(stdout);
  static char buf[70000];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
    if (n < 0) return 1;
    fwrite(buf, 1, (size_t)n, stdout);
    fputc('\n', stdout);
    fflush(stdout);
  }
}
