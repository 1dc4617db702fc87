// Range facts (Options::range_facts, bpfbox/insn_facts.hpp): the ranges of div/mod/shift and
// conditional-jump operands joined over every path, exported per xlated instruction for the LLVM
// tier. They must hold for paths the walk pruned too, so each recorded operand is marked precise;
// and they are off (no ranges, the kernel's counts) for ordinary loads.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "bpfbox/verifier.hpp"
#include "core_case.hpp"

namespace bpfbox::coretest {
namespace {

verifier::VerifyResult verify_xdp(const std::string& text, bool range_facts) {
  verifier::Options opts;
  opts.load.prog_type = BPF_PROG_TYPE_XDP;
  opts.range_facts = range_facts;
  const std::vector<struct bpf_insn> insns = assemble_or_die(text);
  return verifier::verify(insns, opts);
}

// The fall-through path reaches the division with r2 = 1 and is checkpointed at l (2 jumps and
// 8 instructions since the entry); the jump's path arrives there with r2 = 0. Nothing else reads
// r2, so without the precise mark the second path would be pruned against the first and the
// divisor "proven" non-zero: the tier would divide by zero.
constexpr const char* kPrunedDivisor = R"(
call bpf_get_prandom_u32
r6 = r0
r1 = 0
r3 = 0
r4 = 0
r5 = 0
r2 = 0
if r6 != 0 goto l
r2 = 1
l:
r0 = 100
r0 /= r2
exit
)";
constexpr uint32_t kDivPc = 10;

TEST(RangeFacts, APrunedPathJoinsIntoTheDivisorRange) {
  const verifier::VerifyResult plain = verify_xdp(kPrunedDivisor, false);
  ASSERT_TRUE(plain.status.is_ok()) << plain.status.message();
  ASSERT_EQ(plain.program->facts.size(), plain.program->xlated.size());
  EXPECT_FALSE(plain.program->facts[kDivPc].has_src);  // off for ordinary loads
  const verifier::VerifyResult facts = verify_xdp(kPrunedDivisor, true);
  ASSERT_TRUE(facts.status.is_ok()) << facts.status.message();
  const vm::InsnFacts& div = facts.program->facts[kDivPc];
  ASSERT_TRUE(div.has_src);
  EXPECT_FALSE(div.has_dst);  // unsigned division: the dividend is not recorded
  EXPECT_EQ(div.src.umin, 0u);
  EXPECT_EQ(div.src.umax, 1u);
  EXPECT_EQ(div.src.smin, 0);
  EXPECT_EQ(div.src.smax, 1);
  // The verdict and counts are the ordinary walk's (the kernel's), not the facts walk's.
  EXPECT_EQ(facts.program->verified_insns, plain.program->verified_insns);
  EXPECT_EQ(facts.log, plain.log);
  // The facts walk did not prune the second path at l.
  EXPECT_GT(facts.program->range_facts_insns, plain.program->verified_insns);
}

// A counted loop: the jump's operand joins every iteration's value; a 32-bit shift's amount is
// the subregister's range; a comparison with a pointer gives no fact.
TEST(RangeFacts, JumpsAndShiftsRecordTheirOperandsAsTheyReadThem) {
  const verifier::VerifyResult r = verify_xdp(R"(
r2 = *(u32 *)(r1 +0)
r3 = *(u32 *)(r1 +4)
r1 = 0
r4 = -1
l:
r1 += 1
w4 <<= w1
if r1 < 10 goto l
if r2 > r3 goto +0
r0 = 0
exit
)",
                                              true);
  ASSERT_TRUE(r.status.is_ok()) << r.status.message();
  const std::vector<vm::InsnFacts>& f = r.program->facts;
  ASSERT_TRUE(f[5].has_src);
  EXPECT_EQ(f[5].src.umin, 1u);
  EXPECT_EQ(f[5].src.umax, 10u);
  ASSERT_TRUE(f[6].has_dst);
  EXPECT_FALSE(f[6].has_src);  // an immediate
  EXPECT_EQ(f[6].dst.umin, 1u);
  EXPECT_EQ(f[6].dst.umax, 10u);
  EXPECT_FALSE(f[7].has_dst);  // packet pointers
  EXPECT_FALSE(f[7].has_src);
}

// A may_goto loop whose counter only widening makes converge: kept precise by the shift, it
// never would, so the facts walk runs out of its budget and the program has no ranges (and the
// ordinary walk's verdict and count).
TEST(RangeFacts, ALoopThatNeedsWideningFallsBackToAnOrdinaryLoad) {
  constexpr const char* kWidened = R"(
r6 = 0
r7 = 1
l:
may_goto +3
r6 += 1
r7 <<= r6
goto l
r0 = r7
exit
)";
  const verifier::VerifyResult plain = verify_xdp(kWidened, false);
  ASSERT_TRUE(plain.status.is_ok()) << plain.status.message();
  const verifier::VerifyResult facts = verify_xdp(kWidened, true);
  ASSERT_TRUE(facts.status.is_ok()) << facts.status.message();
  EXPECT_EQ(facts.program->verified_insns, plain.program->verified_insns);
  EXPECT_EQ(facts.program->range_facts_insns, 0u);
  for (const vm::InsnFacts& f : facts.program->facts) EXPECT_FALSE(f.has_src || f.has_dst);
}

}  // namespace
}  // namespace bpfbox::coretest
