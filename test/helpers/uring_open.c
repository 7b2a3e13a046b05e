// Test helper: opens PATH read-only through io_uring (IORING_OP_OPENAT, raw syscalls, no
// liburing) into a normal fd, holds the fd HOLD_MS (default 300) and exits.
// Prints "res=<fd or -errno>".
// Usage: uring_open PATH [HOLD_MS [READ_AT [async]]]
//   READ_AT (hex address): then reads 4 bytes there through the new fd and prints
//     "res=<fd> read <hex>" (unbuffered, only after the read: a helper killed before it used
//     the fd prints nothing at all).
//   async: the open carries IOSQE_ASYNC, so an io-wq worker thread of this process runs and
//     completes it instead of io_uring_enter itself.
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: uring_open PATH\n");
    return 2;
  }
  setvbuf(stdout, NULL, _IONBF, 0);
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  int fd = syscall(__NR_io_uring_setup, 4, &p);
  if (fd < 0) {
    perror("setup");
    return 1;
  }
  size_t sqsz = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  size_t cqsz = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
  char* sq =
      mmap(0, sqsz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
  char* cq =
      mmap(0, cqsz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_CQ_RING);
  struct io_uring_sqe* sqes =
      mmap(0, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
           MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
  if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED) {
    perror("mmap");
    return 1;
  }
  unsigned* tail = (unsigned*)(sq + p.sq_off.tail);
  unsigned* mask = (unsigned*)(sq + p.sq_off.ring_mask);
  unsigned* arr = (unsigned*)(sq + p.sq_off.array);
  unsigned t = *tail, i = t & *mask;
  memset(&sqes[i], 0, sizeof sqes[i]);
  sqes[i].opcode = IORING_OP_OPENAT;
  sqes[i].fd = AT_FDCWD;
  sqes[i].addr = (unsigned long)argv[1];
  sqes[i].open_flags = O_RDONLY;
  if (argc > 4 && strcmp(argv[4], "async") == 0) sqes[i].flags = IOSQE_ASYNC;
  arr[i] = i;
  atomic_store_explicit((_Atomic unsigned*)tail, t + 1, memory_order_release);
  int r = syscall(__NR_io_uring_enter, fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0);
  if (r < 0) {
    perror("enter");
    return 1;
  }
  unsigned* chead = (unsigned*)(cq + p.cq_off.head);
  struct io_uring_cqe* cqes = (struct io_uring_cqe*)(cq + p.cq_off.cqes);
  unsigned* cmask = (unsigned*)(cq + p.cq_off.ring_mask);
  int res = cqes[*chead & *cmask].res;
  if (argc > 3) {
    unsigned char buf[4];
    off_t at = (off_t)strtoull(argv[3], NULL, 16);
    if (res < 0 || pread(res, buf, sizeof buf, at) != (ssize_t)sizeof buf) {
      fprintf(stderr, "res=%d, pread: %s\n", res, strerror(errno));
      return 1;
    }
    printf("res=%d read %02x%02x%02x%02x\n", res, buf[0], buf[1], buf[2], buf[3]);
  } else {
    printf("res=%d\n", res);
  }
  usleep(1000 * (argc > 2 ? atoi(argv[2]) : 300));
  return 0;
}
