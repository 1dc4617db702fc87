// Array map lookups: per-packet statistics as an exporter keeps them, a counter pair (packets,
// bytes) per protocol, per destination-port bucket, per length bucket and per TTL, each an
// array lookup and two atomic adds; returns the packet count of the port bucket.
#include "bench_prog.h"

struct counter {
  __u64 packets;
  __u64 bytes;
};

BENCH_MAP(by_proto, BPF_MAP_TYPE_ARRAY, __u32, struct counter, 256);
BENCH_MAP(by_port, BPF_MAP_TYPE_ARRAY, __u32, struct counter, 1024);
BENCH_MAP(by_len, BPF_MAP_TYPE_ARRAY, __u32, struct counter, 16);
BENCH_MAP(by_ttl, BPF_MAP_TYPE_ARRAY, __u32, struct counter, 256);

static __always_inline void bump(void* map, __u32 key, __u64 len) {
  struct counter* c = bpf_map_lookup_elem(map, &key);
  if (c) {
    __sync_fetch_and_add(&c->packets, 1);
    __sync_fetch_and_add(&c->bytes, len);
  }
}

BENCH_XDP(array_stats) {
  void* data = PKT_DATA(ctx);
  void* end = PKT_END(ctx);
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr* ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > end) return XDP_PASS;
  __u64 len = end - data;
  __u32 port = 0;
  if (ip->protocol == IPPROTO_TCP || ip->protocol == IPPROTO_UDP) {
    __be16* ports = (void*)(ip + 1);
    if ((void*)(ports + 2) > end) return XDP_DROP;
    port = bpf_ntohs(ports[1]) & 1023;
  }
  bump(&by_proto, ip->protocol, len);
  bump(&by_port, port, len);
  bump(&by_len, (__u32)(len >> 7) & 15, len);
  bump(&by_ttl, ip->ttl, len);
  struct counter* c = bpf_map_lookup_elem(&by_port, &port);
  return c ? (__u32)c->packets : 0;
}

BENCH_LICENSE;
