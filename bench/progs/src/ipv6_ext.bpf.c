// IPv6 extension headers: hop-by-hop, routing, destination options and fragment headers walked
// (at most 6) to the upper-layer header, then the UDP or TCP ports; the result encodes the chain.
#include "bench_prog.h"

struct ext_hdr {
  __u8 nexthdr;
  __u8 hdrlen;
};

BENCH_XDP(ipv6_ext) {
  void* data = PKT_DATA(ctx);
  void* end = PKT_END(ctx);
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IPV6)) return XDP_PASS;
  struct ipv6hdr* ip6 = (void*)(eth + 1);
  if ((void*)(ip6 + 1) > end) return XDP_DROP;
  __u8 next = ip6->nexthdr;
  void* cur = ip6 + 1;
  __u32 chain = 0;
  for (int i = 0; i < 6; i++) {
    if (next != 0 && next != 43 && next != 60 && next != 44) break;
    struct ext_hdr* e = cur;
    if ((void*)(e + 1) > end) return XDP_DROP;
    chain = chain * 64 + next + 1;
    next = e->nexthdr;
    cur += next == 44 ? 8 : (e->hdrlen + 1) * 8;  // the fragment header has a fixed size
    if (cur > end) return XDP_DROP;
  }
  __u32 ports = 0;
  if (next == IPPROTO_UDP || next == IPPROTO_TCP) {
    __be16* p = cur;
    if ((void*)(p + 2) > end) return XDP_DROP;
    ports = ((__u32)bpf_ntohs(p[0]) << 16) | bpf_ntohs(p[1]);
  }
  return (chain ^ ports ^ ((__u32)next << 24)) & 0x7fffffff;
}

BENCH_LICENSE;
