// bpf_loop: 512 callback iterations mixing the loop index into a state seeded by the packet, with
// an array-map histogram bumped every 8th iteration through the callback's context.
#include "bench_prog.h"

BENCH_MAP(histogram, BPF_MAP_TYPE_ARRAY, __u32, __u64, 64);

struct loop_ctx {
  __u64 acc;
  __u32 seed;
  __u32 hits;
};

static long step(__u32 index, void* arg) {
  struct loop_ctx* c = arg;
  c->acc = c->acc * 0x5851f42d4c957f2dull + (index ^ c->seed);
  c->seed = (c->seed << 5) ^ (c->seed >> 3) ^ index;
  if ((index & 7) == 0) {
    __u32 k = (__u32)(c->acc >> 58);
    __u64* slot = bpf_map_lookup_elem(&histogram, &k);
    if (slot) {
      *slot += 1;
      c->hits++;
    }
  }
  return 0;
}

BENCH_XDP(bpf_loop_mix) {
  void* data = PKT_DATA(ctx);
  void* end = PKT_END(ctx);
  if (data + 8 > end) return XDP_PASS;
  struct loop_ctx c = {.acc = *(__u64*)data, .seed = *(__u32*)data, .hits = 0};
  long n = bpf_loop(512, step, &c, 0);
  return (__u32)(c.acc ^ (c.acc >> 32)) ^ (c.hits << 20) ^ (__u32)n;
}

BENCH_LICENSE;
