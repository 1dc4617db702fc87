// TCP options parsing (a SYN proxy's or load balancer's first step): the option bytes copied to
// the stack (the 40 bytes after the fixed header, when the packet holds them), then walked kind
// by kind for at most 8 options; MSS, window scale, SACK-permitted and timestamps extracted and
// combined. Indexing a stack buffer (masked) rather than the packet keeps the option offset out of
// the verifier's packet-range bookkeeping.
#include "bench_prog.h"

BENCH_XDP(tcp_options) {
  void* data = PKT_DATA(ctx);
  void* end = PKT_END(ctx);
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr* ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > end || ip->ihl != 5 || ip->protocol != IPPROTO_TCP) return XDP_PASS;
  struct tcphdr* tcp = (void*)(ip + 1);
  if ((void*)(tcp + 1) > end) return XDP_DROP;
  __u32 opt_len = tcp->doff * 4;
  if (opt_len <= 20) return 1;
  opt_len -= 20;
  __u8 buf[64] = {};
  __u8* opt = (void*)(tcp + 1);
  if ((void*)(opt + 40) > end) return 2;
  __builtin_memcpy(buf, opt, 40);
  __u32 mss = 0, wscale = 0, sack = 0, tsval = 0, tsecr = 0, nops = 0;
  __u32 i = 0;
  for (int n = 0; n < 8; n++) {
    if (i >= opt_len) break;
    __u8 kind = buf[i & 63];
    if (kind == 0) break;
    if (kind == 1) {
      nops++;
      i++;
      continue;
    }
    __u8 len = buf[(i + 1) & 63];
    if (len < 2) return XDP_DROP;
    if (kind == 2 && len == 4) mss = (buf[(i + 2) & 63] << 8) | buf[(i + 3) & 63];
    if (kind == 3 && len == 3) wscale = buf[(i + 2) & 63];
    if (kind == 4 && len == 2) sack = 1;
    if (kind == 8 && len == 10) {
      for (int b = 2; b < 6; b++) tsval = (tsval << 8) | buf[(i + b) & 63];
      for (int b = 6; b < 10; b++) tsecr = (tsecr << 8) | buf[(i + b) & 63];
    }
    i += len;
  }
  return (mss ^ (wscale << 16) ^ (sack << 20) ^ (nops << 24)) + (tsval - tsecr);
}

BENCH_LICENSE;
