// memcpy/memset-like work: a reflector that swaps the Ethernet, IPv4 and UDP addresses (an
// echo responder, XDP_TX), copies a 64-byte block of the payload over another, and clears a
// 128-byte block, with constant-size __builtin_memcpy/memset as clang lowers them.
#include "bench_prog.h"

BENCH_XDP(reflect_memcpy) {
  void* data = PKT_DATA(ctx);
  void* end = PKT_END(ctx);
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr* ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > end || ip->ihl != 5 || ip->protocol != IPPROTO_UDP) return XDP_PASS;
  struct udphdr* udp = (void*)(ip + 1);
  __u8* payload = (void*)(udp + 1);
  if ((void*)(payload + 448) > end) return XDP_PASS;
  __u8 mac[ETH_ALEN];
  __builtin_memcpy(mac, eth->h_dest, ETH_ALEN);
  __builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
  __builtin_memcpy(eth->h_source, mac, ETH_ALEN);
  __be32 addr = ip->saddr;
  ip->saddr = ip->daddr;
  ip->daddr = addr;
  __be16 port = udp->source;
  udp->source = udp->dest;
  udp->dest = port;
  udp->check = 0;
  __builtin_memcpy(payload + 256, payload, 64);
  __builtin_memcpy(payload + 320, payload + 64, 64);
  __builtin_memset(payload + 128, 0, 128);
  __u32 x = 0;
  for (int i = 0; i < 448; i += 32) x = x * 31 + payload[i];
  return x;
}

BENCH_LICENSE;
