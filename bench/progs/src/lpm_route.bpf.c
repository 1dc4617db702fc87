// LPM trie lookups, as a router or a CIDR-based policy does: the destination and the source of an
// IPv4 packet looked up in a routing table of 200 prefixes (/8 to /32); the next hop's id and the
// source's class combined.
#include "bench_prog.h"

struct lpm_v4 {
  __u32 prefixlen;
  __u8 addr[4];
};

BENCH_MAP_NOPREALLOC(routes, BPF_MAP_TYPE_LPM_TRIE, struct lpm_v4, __u32, 1024);

BENCH_XDP(lpm_route) {
  void* data = PKT_DATA(ctx);
  void* end = PKT_END(ctx);
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr* ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > end) return XDP_PASS;
  struct lpm_v4 key = {.prefixlen = 32};
  __builtin_memcpy(key.addr, &ip->daddr, 4);
  __u32* hop = bpf_map_lookup_elem(&routes, &key);
  if (!hop) return XDP_DROP;
  __u32 out = *hop;
  __builtin_memcpy(key.addr, &ip->saddr, 4);
  __u32* cls = bpf_map_lookup_elem(&routes, &key);
  return out * 1000 + (cls ? *cls : 999);
}

BENCH_LICENSE;
