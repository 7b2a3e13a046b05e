// Test helper: opens /proc/PID/mem with open(2), then reads (r) or writes zeros (w) BYTES at
// ADDR in CHUNK-byte IORING_OP_READ / IORING_OP_WRITE requests (raw io_uring syscalls, no
// liburing), one at a time; then closes the fd with IORING_OP_CLOSE (END "uclose", the
// default) or close(2) (END "close").
// Usage: uring_mem_io PID ADDR_HEX r|w BYTES CHUNK [uclose|close]
// Prints "fd <fd> done <bytes> in <requests>" before it closes the fd.
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/io_uring.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

struct ring {
  int fd;
  unsigned *sq_tail, *sq_mask, *sq_array, *cq_head, *cq_mask;
  struct io_uring_sqe *sqes;
  struct io_uring_cqe *cqes;
};

static int ring_init(struct ring *r) {
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  r->fd = (int)syscall(__NR_io_uring_setup, 4, &p);
  if (r->fd < 0) return -1;
  size_t sqsz = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  size_t cqsz = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
  char *sq = mmap(0, sqsz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
                  IORING_OFF_SQ_RING);
  char *cq = mmap(0, cqsz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
                  IORING_OFF_CQ_RING);
  r->sqes = mmap(0, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQES);
  if (sq == MAP_FAILED || cq == MAP_FAILED || r->sqes == MAP_FAILED) return -1;
  r->sq_tail = (unsigned *)(sq + p.sq_off.tail);
  r->sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
  r->sq_array = (unsigned *)(sq + p.sq_off.array);
  r->cq_head = (unsigned *)(cq + p.cq_off.head);
  r->cq_mask = (unsigned *)(cq + p.cq_off.ring_mask);
  r->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
  return 0;
}

// Submits one request and waits for its completion; returns its res, or -1000 on failure.
static int ring_run(struct ring *r, const struct io_uring_sqe *sqe) {
  unsigned t = *r->sq_tail, i = t & *r->sq_mask;
  r->sqes[i] = *sqe;
  r->sq_array[i] = i;
  atomic_store_explicit((_Atomic unsigned *)r->sq_tail, t + 1, memory_order_release);
  if (syscall(__NR_io_uring_enter, r->fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0) {
    perror("io_uring_enter");
    return -1000;
  }
  unsigned h = atomic_load_explicit((_Atomic unsigned *)r->cq_head, memory_order_acquire);
  int res = r->cqes[h & *r->cq_mask].res;
  atomic_store_explicit((_Atomic unsigned *)r->cq_head, h + 1, memory_order_release);
  return res;
}

int main(int argc, char **argv) {
  if (argc < 6) {
    fprintf(stderr, "usage: uring_mem_io PID ADDR_HEX r|w BYTES CHUNK [uclose|close]\n");
    return 2;
  }
  char path[64];
  snprintf(path, sizeof path, "/proc/%s/mem", argv[1]);
  unsigned long addr = strtoul(argv[2], NULL, 16);
  int writing = strcmp(argv[3], "w") == 0;
  long bytes = atol(argv[4]), chunk = atol(argv[5]);
  int uclose = argc < 7 || strcmp(argv[6], "close") != 0;
  if (chunk <= 0 || chunk > (1 << 20) || bytes < 0) {
    fprintf(stderr, "uring_mem_io: CHUNK must be 1..1048576, BYTES >= 0\n");
    return 2;
  }
  struct ring r;
  if (ring_init(&r) != 0) {
    perror("io_uring setup");
    return 1;
  }
  int fd = open(path, (writing ? O_RDWR : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) {
    perror(path);
    return 1;
  }
  char *buf = calloc(1, (size_t)chunk);
  if (!buf) {
    perror("calloc");
    return 1;
  }
  long done = 0, requests = 0;
  while (done < bytes) {
    unsigned n = (unsigned)(bytes - done < chunk ? bytes - done : chunk);
    struct io_uring_sqe sqe;
    memset(&sqe, 0, sizeof sqe);
    sqe.opcode = writing ? IORING_OP_WRITE : IORING_OP_READ;
    sqe.fd = fd;
    sqe.addr = (unsigned long)buf;
    sqe.len = n;
    sqe.off = addr + done;
    int res = ring_run(&r, &sqe);
    requests++;
    if (res <= 0) {
      fprintf(stderr, "uring_mem_io: request %ld: %s\n", requests, res == -1000 ? "failed" : strerror(-res));
      return 1;
    }
    done += res;
  }
  printf("fd %d done %ld in %ld\n", fd, done, requests);
  fflush(stdout);
  if (uclose) {
    struct io_uring_sqe sqe;
    memset(&sqe, 0, sizeof sqe);
    sqe.opcode = IORING_OP_CLOSE;
    sqe.fd = fd;
    int res = ring_run(&r, &sqe);
    if (res != 0) {
      fprintf(stderr, "uring_mem_io: IORING_OP_CLOSE: %s\n", strerror(-res));
      return 1;
    }
  } else if (close(fd) != 0) {
    perror("close");
    return 1;
  }
  return 0;
}
