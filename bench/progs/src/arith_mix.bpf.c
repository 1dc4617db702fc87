// Arithmetic: a mixed 64/32-bit recurrence (multiply, add, shifts, rotates, xor, division by a
// constant) seeded by the first 16 bytes of the packet, 256 rounds; returns the folded state.
#include "bench_prog.h"

static __always_inline __u64 rotl64(__u64 x, int r) {
  return (x << r) | (x >> (64 - r));
}

BENCH_XDP(arith_mix) {
  void* data = PKT_DATA(ctx);
  void* end = PKT_END(ctx);
  if (data + 16 > end) return XDP_ABORTED;
  __u64 a = *(__u64*)data, b = *(__u64*)(data + 8);
  __u32 c = (__u32)a ^ 0x9e3779b9u, d = (__u32)(b >> 32);
  for (int i = 0; i < 256; i++) {
    a = a * 6364136223846793005ull + b;
    b ^= rotl64(a, 17) + (__u64)i;
    c = c * 1103515245u + 12345u + d;
    d ^= (c >> 11) | (c << 21);
    a += (b >> 3) - (c & 0xff);
    b = b / 7 + (d % 13);
  }
  __u64 h = a ^ b ^ ((__u64)c << 32) ^ d;
  return (__u32)(h ^ (h >> 32)) & 0x7fffffff;
}

BENCH_LICENSE;
