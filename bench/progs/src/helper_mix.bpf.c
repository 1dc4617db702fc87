// Helper calls: 16 rounds of bpf_ktime_get_ns, bpf_get_smp_processor_id and
// bpf_get_prandom_u32, what a sampler or a rate limiter calls per packet; the result depends
// only on what the helpers guarantee (time does not go back, a CPU below 64).
#include "bench_prog.h"

BENCH_XDP(helper_mix) {
  __u64 last = bpf_ktime_get_ns();
  __u32 ok = 0, mixed = 0;
  for (int i = 0; i < 16; i++) {
    __u64 now = bpf_ktime_get_ns();
    ok += now >= last;
    last = now;
    ok += bpf_get_smp_processor_id() < 64;
    mixed ^= bpf_get_prandom_u32();
  }
  return ok + (mixed & 0);
}

BENCH_LICENSE;
