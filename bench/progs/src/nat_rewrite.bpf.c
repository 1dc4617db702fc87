// Incremental checksums (RFC 1624), as a NAT or a load balancer's DNAT rewrites a packet: the
// destination address and port of an IPv4 TCP packet replaced by a backend's, the IPv4 header
// checksum and the TCP checksum updated for each changed 16-bit word, by hand. Idempotent, so
// every run of a repeat sees the same work.
#include "bench_prog.h"

static __always_inline __u16 csum_replace2(__u16 check, __u16 old, __u16 new_) {
  __u32 sum = (__u16)~check + (__u16)~old + new_;
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return ~sum;
}

BENCH_XDP(nat_rewrite) {
  void* data = PKT_DATA(ctx);
  void* end = PKT_END(ctx);
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr* ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > end || ip->ihl != 5 || ip->protocol != IPPROTO_TCP) return XDP_PASS;
  struct tcphdr* tcp = (void*)(ip + 1);
  if ((void*)(tcp + 1) > end) return XDP_DROP;
  const __be32 backend = bpf_htonl(0xac100a0b);  // 172.16.10.11
  const __be16 backend_port = bpf_htons(8080);
  __u16* old_addr = (__u16*)&ip->daddr;
  const __u16* new_addr = (const __u16*)&backend;
  __u16 ip_check = ip->check, tcp_check = tcp->check;
  for (int i = 0; i < 2; i++) {
    ip_check = csum_replace2(ip_check, old_addr[i], new_addr[i]);
    tcp_check = csum_replace2(tcp_check, old_addr[i], new_addr[i]);
  }
  tcp_check = csum_replace2(tcp_check, tcp->dest, backend_port);
  ip->daddr = backend;
  tcp->dest = backend_port;
  ip->check = ip_check;
  tcp->check = tcp_check;
  // Swap the MACs for the way back out (XDP_TX-style), twice: a no-op that still moves bytes.
  __u8 tmp[ETH_ALEN];
  for (int i = 0; i < 2; i++) {
    __builtin_memcpy(tmp, eth->h_source, ETH_ALEN);
    __builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
    __builtin_memcpy(eth->h_dest, tmp, ETH_ALEN);
  }
  return XDP_TX;
}

BENCH_LICENSE;
