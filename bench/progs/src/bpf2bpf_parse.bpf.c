// bpf-to-bpf calls: the parse of parse_flow split into non-inlined subprograms (one per layer,
// each returning the next header's offset), a key hash in its own function, called per packet.
#include "bench_prog.h"

struct parsed {
  __u32 saddr, daddr;
  __u16 sport, dport;
  __u8 proto;
  __u8 ttl;
};

static __noinline int parse_eth(struct xdp_md* ctx, __u32 off) {
  void* data = PKT_DATA(ctx);
  void* end = PKT_END(ctx);
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > end) return -1;
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return -2;
  return off + sizeof(*eth);
}

static __noinline int parse_ipv4(struct xdp_md* ctx, __u32 off, struct parsed* p) {
  void* data = PKT_DATA(ctx);
  void* end = PKT_END(ctx);
  if (off > 64) return -1;
  struct iphdr* ip = data + off;
  if ((void*)(ip + 1) > end) return -1;
  p->saddr = bpf_ntohl(ip->saddr);
  p->daddr = bpf_ntohl(ip->daddr);
  p->proto = ip->protocol;
  p->ttl = ip->ttl;
  return off + ip->ihl * 4;
}

static __noinline int parse_ports(struct xdp_md* ctx, __u32 off, struct parsed* p) {
  void* data = PKT_DATA(ctx);
  void* end = PKT_END(ctx);
  if (off > 128) return -1;
  __be16* ports = data + off;
  if ((void*)(ports + 2) > end) return -1;
  p->sport = bpf_ntohs(ports[0]);
  p->dport = bpf_ntohs(ports[1]);
  return off + 4;
}

static __noinline __u32 mix(__u32 a, __u32 b) {
  a ^= b;
  a *= 0x85ebca6bu;
  a ^= a >> 13;
  a *= 0xc2b2ae35u;
  return a ^ (a >> 16);
}

static __noinline __u32 hash_parsed(const struct parsed* p) {
  __u32 h = mix(p->saddr, 0x9747b28cu);
  h = mix(h, p->daddr);
  h = mix(h, ((__u32)p->sport << 16) | p->dport);
  return mix(h, ((__u32)p->proto << 8) | p->ttl);
}

BENCH_XDP(bpf2bpf_parse) {
  struct parsed p = {};
  int off = parse_eth(ctx, 0);
  if (off < 0) return 100 - off;
  off = parse_ipv4(ctx, off, &p);
  if (off < 0) return 110 - off;
  if (p.proto == IPPROTO_TCP || p.proto == IPPROTO_UDP) {
    off = parse_ports(ctx, off, &p);
    if (off < 0) return 120 - off;
  }
  return hash_parsed(&p) & 0xffff;
}

BENCH_LICENSE;
