// A firewall's rule list (xdp-tools/Cilium policy-like): 32 rules in an array map, each a source
// and destination prefix with masks, a protocol and a destination-port range, evaluated in order
// against the packet until the first match; the rule's action and index.
#include "bench_prog.h"

struct rule {
  __u32 src, src_mask, dst, dst_mask;
  __u16 port_lo, port_hi;
  __u8 proto, action;
  __u16 pad;
};

BENCH_MAP(rules, BPF_MAP_TYPE_ARRAY, __u32, struct rule, 32);

// Rule `i`'s verdict for the packet, or -1 when it does not match.
static __always_inline int match(__u32 i, __u32 src, __u32 dst, __u8 proto, __u16 dport) {
  struct rule* r = bpf_map_lookup_elem(&rules, &i);
  if (!r) return -1;
  if ((src & r->src_mask) != r->src || (dst & r->dst_mask) != r->dst) return -1;
  if (r->proto && r->proto != proto) return -1;
  if (dport < r->port_lo || dport > r->port_hi) return -1;
  return (r->action << 8) | i;
}

BENCH_XDP(acl_rules) {
  void* data = PKT_DATA(ctx);
  void* end = PKT_END(ctx);
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr* ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > end || ip->ihl != 5) return XDP_PASS;
  __be16* ports = (void*)(ip + 1);
  if ((void*)(ports + 2) > end) return XDP_DROP;
  __u32 src = bpf_ntohl(ip->saddr), dst = bpf_ntohl(ip->daddr);
  __u16 dport = bpf_ntohs(ports[1]);
  // The rules in order, each with a constant key (what the verifier and an unrolled loop need).
#define RULE(i)                                      \
  {                                                  \
    int r = match(i, src, dst, ip->protocol, dport); \
    if (r >= 0) return r;                            \
  }
#define RULES8(b) \
  RULE(b) RULE(b + 1) RULE(b + 2) RULE(b + 3) RULE(b + 4) RULE(b + 5) RULE(b + 6) RULE(b + 7)
  RULES8(0)
  RULES8(8) RULES8(16) RULES8(24)
#undef RULES8
#undef RULE
      return XDP_PASS;
}

BENCH_LICENSE;
