// Packet parsing with bounds checks, as a load balancer's front end does: Ethernet, up to two
// VLAN tags, IPv4 (options skipped by ihl, fragments refused) or IPv6, then TCP or UDP ports,
// into a flow key; the verdict is a hash of the key (a backend index) or a drop reason.
#include "bench_prog.h"

struct vlan_hdr {
  __be16 tci;
  __be16 proto;
};

struct flow_key {
  __be32 src[4];
  __be32 dst[4];
  __be16 sport, dport;
  __u8 proto, family;
};

static __always_inline int parse(void* data, void* end, struct flow_key* k) {
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > end) return -1;
  __be16 proto = eth->h_proto;
  void* cur = eth + 1;
  for (int i = 0; i < 2; i++) {
    if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD)) break;
    struct vlan_hdr* v = cur;
    if ((void*)(v + 1) > end) return -1;
    proto = v->proto;
    cur = v + 1;
  }
  if (proto == bpf_htons(ETH_P_IP)) {
    struct iphdr* ip = cur;
    if ((void*)(ip + 1) > end) return -1;
    if (ip->ihl < 5 || (ip->frag_off & bpf_htons(0x3fff))) return -2;
    k->src[0] = ip->saddr;
    k->dst[0] = ip->daddr;
    k->proto = ip->protocol;
    k->family = 4;
    cur = (void*)ip + ip->ihl * 4;
  } else if (proto == bpf_htons(ETH_P_IPV6)) {
    struct ipv6hdr* ip6 = cur;
    if ((void*)(ip6 + 1) > end) return -1;
    __builtin_memcpy(k->src, &ip6->saddr, 16);
    __builtin_memcpy(k->dst, &ip6->daddr, 16);
    k->proto = ip6->nexthdr;
    k->family = 6;
    cur = ip6 + 1;
  } else {
    return -3;
  }
  if (k->proto == IPPROTO_TCP) {
    struct tcphdr* tcp = cur;
    if ((void*)(tcp + 1) > end) return -1;
    if (tcp->syn && tcp->fin) return -4;
    k->sport = tcp->source;
    k->dport = tcp->dest;
  } else if (k->proto == IPPROTO_UDP) {
    struct udphdr* udp = cur;
    if ((void*)(udp + 1) > end) return -1;
    k->sport = udp->source;
    k->dport = udp->dest;
  } else {
    return -5;
  }
  return 0;
}

BENCH_XDP(parse_flow) {
  struct flow_key k = {};
  int r = parse(PKT_DATA(ctx), PKT_END(ctx), &k);
  if (r < 0) return 100 - r;
  __u32 h = k.family * 31 + k.proto;
  for (int i = 0; i < 4; i++) h = (h ^ k.src[i]) * 0x01000193u ^ k.dst[i];
  h ^= ((__u32)k.sport << 16) | k.dport;
  h ^= h >> 15;
  return h % 64;
}

BENCH_LICENSE;
