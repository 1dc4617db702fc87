// A Bloom filter membership test (an allowlist of sources, as DDoS filters keep one): four hashes
// of the source address (multiply-shift with different odd constants) select bits of a 64 Kibit
// filter stored as u64 words in an array map; all set means "maybe allowed", checked for the
// source and the destination.
#include "bench_prog.h"

BENCH_MAP(bloom_bits, BPF_MAP_TYPE_ARRAY, __u32, __u64, 1024);

static __always_inline int bloom_has(__u32 addr) {
  const __u64 mul[4] = {0x9e3779b97f4a7c15ull, 0xc2b2ae3d27d4eb4full, 0x165667b19e3779f9ull,
                        0xd6e8feb86659fd93ull};
  BENCH_UNROLL
  for (int i = 0; i < 4; i++) {
    __u32 bit = (__u32)(((__u64)addr * mul[i]) >> 48);  // 16 bits: 64 Kibit
    __u32 word = bit >> 6;
    __u64* w = bpf_map_lookup_elem(&bloom_bits, &word);
    if (!w || !(*w & (1ull << (bit & 63)))) return 0;
  }
  return 1;
}

BENCH_XDP(bloom_check) {
  void* data = PKT_DATA(ctx);
  void* end = PKT_END(ctx);
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr* ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > end) return XDP_PASS;
  int src = bloom_has(bpf_ntohl(ip->saddr));
  int dst = bloom_has(bpf_ntohl(ip->daddr));
  return src * 2 + dst;
}

BENCH_LICENSE;
