// Per-CPU maps: the counters of array_stats kept per CPU (no atomics), in a per-CPU array by
// protocol and a per-CPU hash by source address (pre-filled), as per-CPU accounting does.
#include "bench_prog.h"

struct counter {
  __u64 packets;
  __u64 bytes;
};

BENCH_MAP(pc_proto, BPF_MAP_TYPE_PERCPU_ARRAY, __u32, struct counter, 256);
BENCH_MAP(pc_source, BPF_MAP_TYPE_PERCPU_HASH, __u32, struct counter, 1024);

BENCH_XDP(percpu_stats) {
  void* data = PKT_DATA(ctx);
  void* end = PKT_END(ctx);
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr* ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > end) return XDP_PASS;
  __u64 len = end - data;
  __u32 proto = ip->protocol;
  struct counter* c = bpf_map_lookup_elem(&pc_proto, &proto);
  if (c) {
    c->packets++;
    c->bytes += len;
  }
  __u32 src = ip->saddr;
  struct counter* s = bpf_map_lookup_elem(&pc_source, &src);
  if (!s) return 7;
  s->packets++;
  s->bytes += len;
  return (__u32)(s->bytes & 0xffff) + (c ? (__u32)c->packets : 0);
}

BENCH_LICENSE;
