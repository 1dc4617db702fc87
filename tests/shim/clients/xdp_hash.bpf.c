// XDP with a hash map: counts packets per length; odd lengths are dropped.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 64);
  __type(key, __u32);
  __type(value, __u64);
} by_len SEC(".maps");

SEC("xdp")
int xdp_by_len(struct xdp_md* ctx) {
  __u32 len = ctx->data_end - ctx->data;
  __u64 one = 1;
  __u64* n = bpf_map_lookup_elem(&by_len, &len);
  if (n)
    __sync_fetch_and_add(n, 1);
  else
    bpf_map_update_elem(&by_len, &len, &one, BPF_NOEXIST);
  return len & 1 ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
