// A hand-written Internet checksum (RFC 1071): the IPv4 header checksum verified, then the UDP or
// TCP checksum over the pseudo-header and the whole segment, 16 bits at a time.
#include "bench_prog.h"

static __always_inline __u16 fold(__u64 sum) {
  sum = (sum & 0xffffffff) + (sum >> 32);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return (__u16)sum;
}

BENCH_XDP(csum_hand) {
  void* data = PKT_DATA(ctx);
  void* end = PKT_END(ctx);
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr* ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > end || ip->ihl != 5) return XDP_PASS;
  __u16* w = (__u16*)ip;
  __u64 sum = 0;
  for (int i = 0; i < 10; i++) sum += w[i];
  if (fold(sum) != 0xffff) return XDP_DROP;  // a bad IP header checksum
  if (ip->protocol != IPPROTO_UDP && ip->protocol != IPPROTO_TCP) return XDP_PASS;
  __u16 l4_len = bpf_ntohs(ip->tot_len) - 20;
  // The pseudo-header: addresses, protocol, L4 length.
  sum = (ip->saddr & 0xffff) + (ip->saddr >> 16) + (ip->daddr & 0xffff) + (ip->daddr >> 16) +
        bpf_htons(ip->protocol) + bpf_htons(l4_len);
  __u16* l4 = (__u16*)(ip + 1);
  for (int i = 0; i < 740; i++) {  // up to 1480 bytes
    if ((void*)(l4 + i + 1) > end || i * 2 + 2 > l4_len) break;
    sum += l4[i];
  }
  if (l4_len & 1) {
    __u8* last = (__u8*)l4 + ((l4_len - 1) & 0x7ff);  // the mask bounds the offset for the verifier
    if ((void*)(last + 1) <= end) sum += *last;
  }
  return fold(sum) == 0xffff ? XDP_PASS : XDP_DROP;
}

BENCH_LICENSE;
