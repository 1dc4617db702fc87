// What the tier is as an engine: reached through vm::compile, named "llvm", -O3 selectable, the
// run context set as the other engines set it, blinding refused (the JIT's job).
#include <gtest/gtest.h>

#include <cerrno>

#include "llvm_harness.hpp"

namespace bpfbox::vm::llvm_tier::test {
namespace {

using bpfbox::test::I;
using bpfbox::test::Prog;
using isa::Op;

std::vector<isa::Insn> sum_loop() {
  Prog p;
  p << I(Op::Mov64K, 0, 0, 0, 0) << I(Op::Add64X, 0, 1) << I(Op::Sub64K, 1, 0, 0, 1)
    << I(Op::Jne64K, 1, 0, -3, 0) << I(Op::Exit);
  return p.insns;
}

TEST(LlvmEngine, ReachedThroughVmCompile) {
  auto exe = vm::compile(EngineKind::Llvm, sum_loop(), test_helpers(), {});
  ASSERT_TRUE(exe) << exe.status().message();
  EXPECT_STREQ((*exe)->engine_name(), "llvm");
  RunContext rc;
  EXPECT_EQ((*exe)->run(rc, 1000), 500500u);
}

TEST(LlvmEngine, O2AndO3AgreeAndRunRepeatedly) {
  for (int level : {2, 3}) {
    auto exe = llvm_tier::compile(sum_loop(), test_helpers(), {}, Options{level});
    ASSERT_TRUE(exe) << exe.status().message();
    for (uint64_t n = 1; n < 50; ++n) {
      RunContext rc;
      EXPECT_EQ((*exe)->run(rc, n), n * (n + 1) / 2) << "-O" << level;
    }
  }
}

TEST(LlvmEngine, RunContextAsTheInterpreterSetsIt) {
  for (bool checked : {false, true}) {
    auto exe = llvm_tier::compile(sum_loop(), test_helpers(), {checked, 100});
    ASSERT_TRUE(exe) << exe.status().message();
    RunContext rc;
    rc.fault = Fault{FaultKind::BadCall, EINVAL, 3, 4, 5, 6};  // a previous run's
    EXPECT_EQ((*exe)->run(rc, 10), 55u);
    EXPECT_EQ(rc.fault.kind, FaultKind::None);
    EXPECT_EQ(rc.checked, checked ? 1u : 0u);
    EXPECT_EQ(rc.insns_executed, 1u + 3 * 10 + 1);
    EXPECT_NE(rc.stack_base, 0u);
    EXPECT_EQ(rc.stack_size, checked ? 512u : 4096u);
    EXPECT_EQ((*exe)->run(rc, 100), 0u);  // 302 instructions: over budget
    EXPECT_EQ(rc.fault.kind, FaultKind::Budget);
    EXPECT_EQ(rc.fault.err, E2BIG);
    EXPECT_EQ(rc.insns_executed, 100u);
  }
}

TEST(LlvmEngine, BlindingIsRefused) {
  ExecOptions o;
  o.blind_constants = true;
  auto exe = llvm_tier::compile(sum_loop(), test_helpers(), o);
  ASSERT_FALSE(exe);
  EXPECT_EQ(exe.status().err(), EINVAL);
}

TEST(LlvmEngine, ManyExecutablesLiveAndDieIndependently) {
  std::vector<std::unique_ptr<Executable>> all;
  for (int i = 0; i < 8; ++i) {
    Prog p;
    p << I(Op::Mov64K, 0, 0, 0, i) << I(Op::Add64X, 0, 1) << I(Op::Exit);
    auto exe = llvm_tier::compile(p.insns, test_helpers(), {});
    ASSERT_TRUE(exe) << exe.status().message();
    all.push_back(std::move(*exe));
  }
  all.erase(all.begin() + 2, all.begin() + 5);  // freed code must not take the others with it
  for (size_t i = 0; i < all.size(); ++i) {
    RunContext rc;
    const uint64_t want = (i < 2 ? i : i + 3) + 100;
    EXPECT_EQ(all[i]->run(rc, 100), want);
  }
}

}  // namespace
}  // namespace bpfbox::vm::llvm_tier::test
