// Loads and attaches every program of a BPF object (bench/bpf/floor.bpf.o), prints "ready",
// and on SIGTERM detaches, prints "{}" (bench/lib.mjs stopAndCollect reads a JSON line) and
// exits. Built by bench/storm.mjs with -lbpf.
#include <bpf/libbpf.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static void onTerm(int sig) { (void)sig; stop = 1; }

int main(int argc, char **argv) {
  if (argc != 2) { fprintf(stderr, "usage: bpf_floor OBJECT\n"); return 2; }
  struct sigaction sa = {0};
  sa.sa_handler = onTerm;
  if (sigaction(SIGTERM, &sa, NULL) != 0) { perror("sigaction"); return 1; }
  struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
  if (!obj) { perror("bpf_object__open_file"); return 1; }
  if (bpf_object__load(obj) != 0) { perror("bpf_object__load"); return 1; }
  struct bpf_link *links[8];
  int n = 0;
  struct bpf_program *prog;
  bpf_object__for_each_program(prog, obj) {
    if (n == 8) { fprintf(stderr, "bpf_floor: more than 8 programs\n"); return 1; }
    if (!(links[n++] = bpf_program__attach(prog))) { perror(bpf_program__name(prog)); return 1; }
  }
  printf("ready\n");
  fflush(stdout);
  while (!stop) pause();
  while (n > 0) bpf_link__destroy(links[--n]);  // detached before the next mode starts
  bpf_object__close(obj);
  printf("{}\n");
  return 0;
}
