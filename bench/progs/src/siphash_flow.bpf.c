// SipHash-2-4 (the keyed hash of flow tables and SYN cookies, written from the published
// algorithm) of the IPv4 5-tuple as two 64-bit words under a fixed 128-bit key.
#include "bench_prog.h"

#define ROTL(x, b) (((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND(v0, v1, v2, v3) \
  do {                           \
    v0 += v1;                    \
    v1 = ROTL(v1, 13);           \
    v1 ^= v0;                    \
    v0 = ROTL(v0, 32);           \
    v2 += v3;                    \
    v3 = ROTL(v3, 16);           \
    v3 ^= v2;                    \
    v0 += v3;                    \
    v3 = ROTL(v3, 21);           \
    v3 ^= v0;                    \
    v2 += v1;                    \
    v1 = ROTL(v1, 17);           \
    v1 ^= v2;                    \
    v2 = ROTL(v2, 32);           \
  } while (0)

static __always_inline __u64 siphash_2u64(__u64 a, __u64 b, __u64 k0, __u64 k1) {
  __u64 v0 = 0x736f6d6570736575ull ^ k0, v1 = 0x646f72616e646f6dull ^ k1;
  __u64 v2 = 0x6c7967656e657261ull ^ k0, v3 = 0x7465646279746573ull ^ k1;
  __u64 m[3] = {a, b, (__u64)16 << 56};  // the last block: the length in the top byte
  for (int i = 0; i < 3; i++) {
    v3 ^= m[i];
    SIPROUND(v0, v1, v2, v3);
    SIPROUND(v0, v1, v2, v3);
    v0 ^= m[i];
  }
  v2 ^= 0xff;
  for (int i = 0; i < 4; i++) SIPROUND(v0, v1, v2, v3);
  return v0 ^ v1 ^ v2 ^ v3;
}

BENCH_XDP(siphash_flow) {
  void* data = PKT_DATA(ctx);
  void* end = PKT_END(ctx);
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr* ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > end || ip->ihl != 5) return XDP_PASS;
  __be16* ports = (void*)(ip + 1);
  if ((void*)(ports + 2) > end) return XDP_DROP;
  __u64 a = ((__u64)ip->saddr << 32) | ip->daddr;
  __u64 b = ((__u64)ports[0] << 32) | ((__u64)ports[1] << 16) | ip->protocol;
  __u64 h = siphash_2u64(a, b, 0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull);
  return (__u32)(h ^ (h >> 32));
}

BENCH_LICENSE;
