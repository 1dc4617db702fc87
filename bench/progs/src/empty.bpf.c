// The fixed cost of a run: an XDP program that only returns.
#include "bench_prog.h"

BENCH_XDP(empty) {
  return XDP_PASS;
}

BENCH_LICENSE;
