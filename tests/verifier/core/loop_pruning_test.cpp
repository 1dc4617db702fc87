// Loops the kernel verifies in a few tens of thousands of instructions must not run into the
// 1,000,000-instruction limit here: the checkpoints a loop records and evicts follow the kernel's
// is_state_visited() (newest first; inside a loop, a new checkpoint only every 20 jumps or 100
// instructions and no miss charged without one; a checkpoint after 40 jmp-history entries).
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "core_case.hpp"

namespace bpfbox::coretest {
namespace {

// The processed-instruction count of a log at BPF_LOG_STATS, or -1.
long processed(const std::string& log) {
  const size_t at = log.find("processed ");
  long n = -1;
  if (at != std::string::npos) std::sscanf(log.c_str() + at, "processed %ld insns", &n);
  return n;
}

// The verifier fuzz's residue (seed 200042, its map update left out): two counting loops whose
// per-iteration branch doubles the paths, each count then used as a stack offset. bpfbox used to
// evict the loop exits' checkpoints while the loop was still iterating (E2BIG after 1,000,001
// instructions); the kernel 6.18 accepts it after 27,738.
constexpr const char* kTwoCountingLoops = R"(
r6 = r1
call bpf_get_prandom_u32
r7 = r0
call bpf_get_prandom_u32
r9 = r0
r9 &= 7
*(u64 *)(r10 -8) = r7
r8 = 0
*(u64 *)(r10 -16) = r7
*(u64 *)(r10 -24) = r7
*(u64 *)(r10 -32) = r7
*(u64 *)(r10 -40) = r7
*(u64 *)(r10 -48) = r8
*(u64 *)(r10 -56) = r7
*(u64 *)(r10 -64) = r8
*(u64 *)(r10 -72) = r8
*(u64 *)(r10 -80) = r7
*(u64 *)(r10 -88) = r8
*(u64 *)(r10 -96) = r8
*(u64 *)(r10 -104) = r8
*(u64 *)(r10 -112) = r8
*(u64 *)(r10 -120) = r8
*(u64 *)(r10 -128) = r7
*(u64 *)(r10 -136) = r7
*(u64 *)(r10 -144) = r7
*(u64 *)(r10 -152) = r8
*(u64 *)(r10 -160) = r7
r0 = 0
r1 = 0
r2 = 0
l0:
r3 = r7
r3 += r1
r3 &= 8
if r3 == 0 goto l1
r2 += 1
l1:
r1 += 1
if r1 < 16 goto l0
r4 = r10
r4 += -64
r4 += r2
*(u8 *)(r4 +0) = r7
r1 = 0
r2 = 0
l3:
r3 = r7
r3 += r1
r3 &= 8
if r3 == 0 goto l4
r2 += 1
l4:
r1 += 1
if r1 < 12 goto l3
r4 = r10
r4 += -64
r4 += r2
*(u8 *)(r4 +0) = r7
r2 = r10
r2 += -64
r2 += r9
r0 = *(u8 *)(r2 +0)
r0 = 2
exit
)";

TEST(LoopPruning, CountingLoopsVerifyAsInTheKernel) {
  CaseMaps maps({});
  const auto insns = assemble_or_die(kTwoCountingLoops);
  const Outcome o = bpfbox_verify(insns, BPF_PROG_TYPE_XDP, true, maps, 4);
  ASSERT_EQ(o.err, 0) << o.log;
  const long ours = processed(o.log);
  EXPECT_GT(ours, 0) << o.log;
  EXPECT_LT(ours, 100000) << o.log;  // 21,045 today; 1,000,001 (E2BIG) before
  std::string why;
  const auto k = kernel_verify(insns, BPF_PROG_TYPE_XDP, 4, &why);
  if (!k) GTEST_SKIP() << "kernel bpf() unavailable: " << why;
  ASSERT_EQ(k->err, 0) << k->log;
  // Same order of magnitude as the kernel (27,738 on 6.18), not a bigger limit.
  EXPECT_LT(ours, 2 * processed(k->log)) << "kernel: " << k->log;
}

}  // namespace
}  // namespace bpfbox::coretest
