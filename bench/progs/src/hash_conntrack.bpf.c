// Hash map lookups as a connection tracker does (Cilium-like): the 5-tuple of an IPv4 TCP/UDP
// packet looked up in the forward direction, then reversed; an entry found has its counters and
// flags updated, a miss is a new flow when a SYN (or UDP), else a drop.
#include "bench_prog.h"

struct ct_key {
  __be32 saddr, daddr;
  __be16 sport, dport;
  __u8 proto, pad[3];
};

struct ct_entry {
  __u64 packets;
  __u64 bytes;
  __u32 flags;
  __u32 rev_nat;
};

BENCH_MAP(ct_table, BPF_MAP_TYPE_HASH, struct ct_key, struct ct_entry, 4096);

BENCH_XDP(hash_conntrack) {
  void* data = PKT_DATA(ctx);
  void* end = PKT_END(ctx);
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr* ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > end || ip->ihl != 5) return XDP_PASS;
  struct ct_key k = {.saddr = ip->saddr, .daddr = ip->daddr, .proto = ip->protocol};
  __u8 syn = 0;
  if (ip->protocol == IPPROTO_TCP) {
    struct tcphdr* tcp = (void*)(ip + 1);
    if ((void*)(tcp + 1) > end) return XDP_DROP;
    k.sport = tcp->source;
    k.dport = tcp->dest;
    syn = tcp->syn;
  } else if (ip->protocol == IPPROTO_UDP) {
    struct udphdr* udp = (void*)(ip + 1);
    if ((void*)(udp + 1) > end) return XDP_DROP;
    k.sport = udp->source;
    k.dport = udp->dest;
    syn = 1;
  } else {
    return XDP_PASS;
  }
  __u32 len = (__u32)(end - data);
  struct ct_entry* e = bpf_map_lookup_elem(&ct_table, &k);
  __u32 dir = 0;
  if (!e) {
    struct ct_key rev = {
        .saddr = k.daddr, .daddr = k.saddr, .sport = k.dport, .dport = k.sport, .proto = k.proto};
    e = bpf_map_lookup_elem(&ct_table, &rev);
    dir = 1;
  }
  if (!e) {
    if (!syn) return XDP_DROP;
    struct ct_entry fresh = {.packets = 1, .bytes = len, .flags = 1};
    bpf_map_update_elem(&ct_table, &k, &fresh, BPF_NOEXIST);
    return 10;
  }
  e->packets++;
  e->bytes += len;
  e->flags |= 2u << dir;
  return 20 + dir + (e->rev_nat & 7);
}

BENCH_LICENSE;
