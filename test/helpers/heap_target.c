// Test helper: a process with a known heap to read. Mallocs SIZE bytes (default 4 MiB),
// fills them with a pattern, prints "<pid> <address in hex>" and sleeps until killed.
// Usage: heap_target [SIZE]
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
  size_t size = argc > 1 ? strtoul(argv[1], NULL, 10) : 4u << 20;
  unsigned char *heap = malloc(size);
  if (!heap) { perror("malloc"); return 1; }
  for (size_t i = 0; i < size; i++) heap[i] = (unsigned char)(i * 7 + 1);
  printf("%d %lx\n", getpid(), (unsigned long)heap);
  fflush(stdout);
  for (;;) pause();
}
