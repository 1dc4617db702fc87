// An XDP program with a map lookup and global data: counters in .bss and .data, a frozen .rodata
// threshold, a bpf-to-bpf subprogram. XDP_PASS for packets of at least min_len bytes, else DROP.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u64);
} verdicts SEC(".maps");

const volatile __u32 min_len = 14;  // .rodata
__u64 packets = 0;                  // .bss
__u64 bytes_seen = 100;             // .data

static __attribute__((noinline)) __u32 verdict(__u32 len) {
  return len >= min_len ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int xdp_count(struct xdp_md* ctx) {
  __u32 len = ctx->data_end - ctx->data;
  __u32 v = verdict(len);
  __u64* n = bpf_map_lookup_elem(&verdicts, &v);
  if (n) __sync_fetch_and_add(n, 1);
  packets++;
  bytes_seen += len;
  return v;
}

char LICENSE[] SEC("license") = "GPL";
