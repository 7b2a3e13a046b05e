// The floor of the eBPF backend's cost: programs that do nothing, attached at the same
// tracepoints as native/ebpf/procmem.bpf.c (exit of open, openat, openat2). Enabling a
// syscall tracepoint puts every task on the kernel's syscall slow path, and each open then
// runs one BPF program: no filter at these attach points can cost the host less.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("tp/syscalls/sys_exit_openat")
int floor_exit_openat(void *ctx) { return 0; }

SEC("tp/syscalls/sys_exit_open")
int floor_exit_open(void *ctx) { return 0; }

SEC("tp/syscalls/sys_exit_openat2")
int floor_exit_openat2(void *ctx) { return 0; }
