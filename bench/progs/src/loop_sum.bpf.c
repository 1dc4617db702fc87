// A bounded loop over the payload: 1 KiB summed as 32-bit words with a bounds check per word,
// plus a running xor and a max (MemWalk in C).
#include "bench_prog.h"

BENCH_XDP(loop_sum) {
  __u32* p = PKT_DATA(ctx);
  void* end = PKT_END(ctx);
  __u64 sum = 0;
  __u32 x = 0, max = 0;
  for (int i = 0; i < 256; i++) {
    if ((void*)(p + i + 1) > end) break;
    __u32 v = p[i];
    sum += v;
    x ^= v;
    if (v > max) max = v;
  }
  return (__u32)(sum ^ (sum >> 32)) ^ x ^ max;
}

BENCH_LICENSE;
