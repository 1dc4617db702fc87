// What the tier is as an engine: reached through vm::compile, named "llvm", -O3 selectable, the
// run context set as the other engines set it, blinding refused (the JIT's job).
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdlib>
#include <string>

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

// A translator bug (IR the verifier refuses) is an EINVAL naming it, not a crash: the module used
// to be destroyed after its LLVMContext on that path. The compiler keeps working afterwards.
TEST(LlvmEngine, InvalidIrIsAnErrorNotACrash) {
  for (int level : {2, 3}) {
    Options o{level};
    o.break_ir_for_test = true;
    auto exe = llvm_tier::compile(sum_loop(), test_helpers(), {}, o);
    ASSERT_FALSE(exe);
    EXPECT_EQ(exe.status().err(), EINVAL);
    EXPECT_NE(exe.status().message().find("invalid IR"), std::string::npos)
        << exe.status().message();
    EXPECT_NE(exe.status().message().find("terminator"), std::string::npos)
        << exe.status().message();
  }
  auto exe = llvm_tier::compile(sum_loop(), test_helpers(), {});
  ASSERT_TRUE(exe) << exe.status().message();
  RunContext rc;
  EXPECT_EQ((*exe)->run(rc, 4), 10u);
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

std::string optimized_ir(const std::vector<isa::Insn>& prog, std::unique_ptr<Executable>* out) {
  return compile_dumping_ir(prog, test_helpers(), {}, out);
}

// As above, for a program that returns r1 + 2.
std::string optimized_ir(const std::vector<isa::Insn>& prog) {
  std::unique_ptr<Executable> exe;
  const std::string ir = optimized_ir(prog, &exe);
  RunContext rc;
  if (!exe || exe->run(rc, 5) != 7) return "wrong result: " + ir;
  return ir;
}

// The verifier's speculation barrier (unprivileged programs) survives optimization as an lfence
// at each place, as in the JIT, and nothing else brings one in.
TEST(LlvmEngine, NospecIsAnLfence) {
  Prog with;
  with << I(Op::Mov64X, 0, 1) << I(Op::Nospec) << I(Op::Add64K, 0, 0, 0, 1) << I(Op::Nospec)
       << I(Op::Add64K, 0, 0, 0, 1) << I(Op::Exit);
  const std::string ir = optimized_ir(with.insns);
  EXPECT_EQ(count(ir, "asm sideeffect \"lfence\""), 2u) << ir;
  Prog without;
  without << I(Op::Mov64X, 0, 1) << I(Op::Add64K, 0, 0, 0, 2) << I(Op::Exit);
  const std::string plain = optimized_ir(without.insns);
  EXPECT_NE(count(plain, "bpfbox_llvm_entry"), 0u) << plain;
  EXPECT_EQ(count(plain, "lfence"), 0u) << plain;
}

// A byte-by-byte copy as clang emits __builtin_memcpy for BPF (descending, one load and one store
// per byte) becomes wide moves when source and destination cannot overlap (base + constant
// offsets, AddressBasesPass), and keeps the interpreter's result when they overlap (whatever LLVM
// makes of it then).
TEST(LlvmEngine, DisjointByteCopiesAreVectorized) {
  const auto copy = [](int16_t dst, int16_t src, int n, bool descending) {
    Prog p;
    for (int k = 0; k < n; ++k) {
      const int16_t i = static_cast<int16_t>(descending ? n - 1 - k : k);
      p << I(Op::LdxB, 2, 1, static_cast<int16_t>(src + i))
        << I(Op::StxB, 1, 2, static_cast<int16_t>(dst + i));
    }
    p << I(Op::Mov64K, 0, 0, 0, 0) << I(Op::Exit);
    return p.insns;
  };
  struct Case {
    int16_t dst, src;
    bool descending, wide;
  };
  for (const Case c :
       {Case{64, 0, true, true}, Case{4, 0, false, false}, Case{0, 4, true, false}}) {
    const std::vector<isa::Insn> prog = copy(c.dst, c.src, 32, c.descending);
    std::unique_ptr<Executable> exe;
    const std::string ir = optimized_ir(prog, &exe);
    ASSERT_TRUE(exe) << ir;
    if (c.wide) {
      EXPECT_NE(count(ir, "load <"), 0u) << c.dst << " <- " << c.src << "\n" << ir;
    }
    auto interp = vm::compile(EngineKind::Interp, prog, test_helpers(), {});
    ASSERT_TRUE(interp) << interp.status().message();
    std::vector<uint8_t> want(128), got(128);
    for (size_t i = 0; i < want.size(); ++i) want[i] = got[i] = static_cast<uint8_t>(i * 7 + 1);
    RunContext rc1, rc2;
    (*interp)->run(rc1, reinterpret_cast<uint64_t>(want.data()));
    exe->run(rc2, reinterpret_cast<uint64_t>(got.data()));
    EXPECT_EQ(got, want) << c.dst << " <- " << c.src;
  }
}

}  // namespace
}  // namespace bpfbox::vm::llvm_tier::test
