// Tail calls through a PROG_ARRAY: the entry program jumps to slot 0 (filled by the loader from
// the map's initial value) which returns 42; with slot 0 empty the entry returns 1.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int tail_target(struct xdp_md* ctx) {
  return 42;
}

struct {
  __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
  __uint(max_entries, 2);
  __uint(key_size, sizeof(__u32));
  __array(values, int(void*));
} jump_table SEC(".maps") = {
    .values = {[0] = (void*)&tail_target},
};

SEC("xdp")
int tail_entry(struct xdp_md* ctx) {
  bpf_tail_call(ctx, &jump_table, 0);
  return 1;
}

char LICENSE[] SEC("license") = "GPL";
