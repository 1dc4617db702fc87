// Automatic tier-up: a program starts on the baseline engine, moves to the LLVM tier after it has
// run often (compiled in the background, swapped in atomically), and gives the same results before,
// during and after the swap, also while other threads are running it.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "llvm_harness.hpp"
#include "vm/llvm/tiered.hpp"

namespace bpfbox::vm::llvm_tier::test {
namespace {

using bpfbox::test::I;
using bpfbox::test::Prog;
using isa::Op;

// r0 = sum of 1..r1, with a helper call (inc) and a stack round trip on the way.
std::vector<isa::Insn> program() {
  Prog p;
  p << I(Op::Mov64X, 6, 1) << I(Op::Mov64K, 0, 0, 0, 0) << I(Op::StDW, 10, 0, -8, 0);
  p << I(Op::LdxDW, 2, 10, -8) << I(Op::Add64X, 2, 6) << I(Op::StxDW, 10, 2, -8);
  p << I(Op::Sub64K, 6, 0, 0, 1) << I(Op::Jne64K, 6, 0, -5, 0);
  p << I(Op::LdxDW, 1, 10, -8) << I(Op::Call, 0, 0, 0, 2) << I(Op::Sub64K, 0, 0, 0, 1);
  p << I(Op::Exit);
  return p.insns;
}

uint64_t expected(uint64_t n) {
  return n * (n + 1) / 2;
}

TEST(LlvmTierUp, SwapsAfterTheThresholdWithTheSameResults) {
  auto exe = compile_tiered(program(), test_helpers(), {}, TierUp{50, 2});
  ASSERT_TRUE(exe) << exe.status().message();
  const std::string baseline = (*exe)->engine_name();
  EXPECT_NE(baseline, "llvm");
  for (uint64_t i = 1; i < 50; ++i) {
    RunContext rc;
    EXPECT_EQ((*exe)->run(rc, i), expected(i));
  }
  EXPECT_FALSE(tier_state(**exe).optimized);
  RunContext rc;
  EXPECT_EQ((*exe)->run(rc, 50), expected(50));  // the 50th run starts the compile
  const TierState s = tier_state(**exe, true);
  EXPECT_TRUE(s.optimized);
  EXPECT_FALSE(s.gave_up);
  EXPECT_EQ(s.baseline_runs, 50u);
  EXPECT_STREQ((*exe)->engine_name(), "llvm");
  for (uint64_t i = 1; i < 100; ++i) {
    RunContext rc2;
    EXPECT_EQ((*exe)->run(rc2, i), expected(i));
  }
}

TEST(LlvmTierUp, KeepsTheModeAcrossTheSwap) {
  // Checked mode with a budget: the same fault before and after the swap.
  Prog p;
  p << I(Op::Mov64K, 0, 0, 0, 1) << I(Op::StDW, 1, 0, 64, 1) << I(Op::Exit);
  auto exe = compile_tiered(p.insns, test_helpers(), {true, 100}, TierUp{1, 2});
  ASSERT_TRUE(exe) << exe.status().message();
  for (int round = 0; round < 2; ++round) {
    std::vector<uint8_t> mem(16);
    RunContext rc;
    rc.add_region(mem.data(), mem.size(), kReadWrite, "mem");
    EXPECT_EQ((*exe)->run(rc, reinterpret_cast<uint64_t>(mem.data())), 0u);
    EXPECT_EQ(rc.fault.kind, FaultKind::OutOfBounds);
    EXPECT_EQ(rc.fault.pc, 1u);
    EXPECT_EQ(rc.insns_executed, 2u);  // the faulting store counts, as in the interpreter
    EXPECT_EQ(tier_state(**exe, true).optimized, true);
  }
}

TEST(LlvmTierUp, AProgramTheTierRefusesStaysOnTheBaseline) {
  // Constant blinding is the JIT's defence for untrusted code; the LLVM tier refuses it, so such a
  // program keeps running, blinded, on the JIT.
  ExecOptions blinded;
  blinded.blind_constants = true;
  auto exe = compile_tiered(program(), test_helpers(), blinded, TierUp{3, 2});
  if (!exe) GTEST_SKIP() << "no baseline blinds constants here: " << exe.status().message();
  for (uint64_t i = 1; i < 10; ++i) {
    RunContext rc;
    EXPECT_EQ((*exe)->run(rc, i), expected(i));
  }
  const TierState s = tier_state(**exe, true);
  EXPECT_FALSE(s.optimized);
  EXPECT_TRUE(s.gave_up);
  RunContext rc;
  EXPECT_EQ((*exe)->run(rc, 20), expected(20));
}

TEST(LlvmTierUp, ConcurrentRunsAcrossTheSwap) {
  auto exe = compile_tiered(program(), test_helpers(), {}, TierUp{200, 2});
  ASSERT_TRUE(exe) << exe.status().message();
  std::atomic<uint64_t> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t)
    threads.emplace_back([&, t] {
      for (uint64_t i = 0; i < 3000; ++i) {
        RunContext rc;
        const uint64_t n = 1 + (i + t) % 64;
        if ((*exe)->run(rc, n) != expected(n)) wrong.fetch_add(1);
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0u);
  EXPECT_TRUE(tier_state(**exe, true).optimized);
}

TEST(LlvmTierUp, OtherExecutablesHaveNoTierState) {
  auto exe = vm::compile(EngineKind::Interp, program(), test_helpers(), {});
  ASSERT_TRUE(exe);
  const TierState s = tier_state(**exe, true);
  EXPECT_FALSE(s.optimized);
  EXPECT_EQ(s.baseline_runs, 0u);
}

}  // namespace
}  // namespace bpfbox::vm::llvm_tier::test
