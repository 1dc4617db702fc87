// FNV-1a hashing: 64-bit FNV-1a over the first KiB of payload byte by byte, and 32-bit FNV-1a over
// the flow's addresses; a deduplication or sampling decision's input.
#include "bench_prog.h"

BENCH_XDP(fnv_payload) {
  __u8* data = PKT_DATA(ctx);
  __u8* end = PKT_END(ctx);
  if (data + 34 > end) return XDP_PASS;
  __u32 h32 = 0x811c9dc5u;
  for (int i = 26; i < 34; i++) h32 = (h32 ^ data[i]) * 0x01000193u;
  __u64 h = 0xcbf29ce484222325ull;
  __u8* p = data + 54;
  for (int i = 0; i < 1024; i++) {
    if (p + i + 1 > end) break;
    h = (h ^ p[i]) * 0x100000001b3ull;
  }
  return (__u32)(h ^ (h >> 32)) ^ h32;
}

BENCH_LICENSE;
