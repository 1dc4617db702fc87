// bpf_csum_diff: the TCP checksum of an IPv4 packet verified through the helper, the
// pseudo-header and then the segment fed in chunks of up to 512 bytes (the helper's limit), as
// the kernel's own checksum offload fallbacks do. Compare csum_hand (the same sum by hand).
#include "bench_prog.h"

static __always_inline __u16 fold(__u64 sum) {
  sum = (sum & 0xffffffff) + (sum >> 32);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return (__u16)sum;
}

BENCH_XDP(csum_diff) {
  void* data = PKT_DATA(ctx);
  void* end = PKT_END(ctx);
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr* ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > end || ip->ihl != 5 || ip->protocol != IPPROTO_TCP) return XDP_PASS;
  __s64 hsum = bpf_csum_diff(0, 0, (__be32*)ip, sizeof(*ip), 0);
  if (hsum < 0 || fold(hsum) != 0xffff) return XDP_DROP;
  __u32 seg = bpf_ntohs(ip->tot_len) - 20;
  __be32 pseudo[3] = {ip->saddr, ip->daddr, bpf_htonl((IPPROTO_TCP << 16) | seg)};
  __s64 sum = bpf_csum_diff(0, 0, pseudo, sizeof(pseudo), 0);
  __u8* p = (void*)(ip + 1);
  // Whole 512-byte chunks, then 64-byte ones, then 4-byte words: constant sizes for the verifier.
  for (int i = 0; i < 2; i++) {
    if (seg < 512 || (void*)(p + 512) > end) break;
    sum = bpf_csum_diff(0, 0, (__be32*)p, 512, (__u32)sum);
    p += 512;
    seg -= 512;
  }
  for (int i = 0; i < 8; i++) {
    if (seg < 64 || (void*)(p + 64) > end) break;
    sum = bpf_csum_diff(0, 0, (__be32*)p, 64, (__u32)sum);
    p += 64;
    seg -= 64;
  }
  for (int i = 0; i < 16; i++) {
    if (seg < 4 || (void*)(p + 4) > end) break;
    sum = bpf_csum_diff(0, 0, (__be32*)p, 4, (__u32)sum);
    p += 4;
    seg -= 4;
  }
  if (sum < 0) return XDP_ABORTED;
  return fold(sum) == 0xffff ? XDP_PASS : XDP_DROP;
}

BENCH_LICENSE;
