// Conditional jumps of every kind, both widths and operand forms, taken and not taken; loops long
// enough that the layout passes must pick both short and long encodings.
#include <gtest/gtest.h>

#include <random>

#include "jit_harness.hpp"

namespace bpfbox::vm::jit::test {
namespace {

const uint64_t kValues[] = {0,
                            1,
                            2,
                            0x7fffffff,
                            0x80000000,
                            0xffffffff,
                            0x100000000,
                            0x8000000000000000,
                            0xffffffffffffffff,
                            0xfffffffffffffffe};

TEST(JitJump, EveryConditionAgainstTheInterpreter) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < isa::kOpCount; ++i) {
    const Op op = static_cast<Op>(i);
    const isa::OpInfo& o = isa::info(op);
    if (o.kind != isa::Kind::Jcond) continue;
    for (uint64_t a : kValues) {
      for (uint64_t b : kValues) {
        const uint8_t dst = static_cast<uint8_t>(rng() % 10);
        const uint8_t src = static_cast<uint8_t>((dst + 1 + rng() % 9) % 10);
        Prog p;
        p.lddw(dst, a).lddw(src, b).lddw(0, 0);
        const int32_t imm = static_cast<int32_t>(b);
        p << I(op, dst, o.uses_src ? src : 0, 1, o.uses_src ? 0 : imm);
        p << I(Op::Mov64K, 0, 0, 0, 1);  // not taken
        p << I(Op::Add64K, 0, 0, 0, 2);
        p.exit();
        const std::string d = compare_engines(p.insns);
        ASSERT_TRUE(d.empty()) << isa::name(op) << "\n" << d;
      }
    }
  }
}

// A counted loop whose body size crosses the rel8 range as it grows.
TEST(JitJump, LoopsOfEverySize) {
  for (int body : {0, 1, 10, 20, 24, 25, 26, 30, 31, 32, 40, 63, 64, 200}) {
    Prog p;
    p << I(Op::Mov64K, 0, 0, 0, 0) << I(Op::Mov64K, 1, 0, 0, 5);
    for (int i = 0; i < body; ++i) p << I(Op::Add64K, 0, 0, 0, i + 1);
    p << I(Op::Sub64K, 1, 0, 0, 1);
    p << I(Op::Jne64K, 1, 0, static_cast<int16_t>(-(body + 2)), 0);
    // A forward jump over the same amount of code.
    p << I(Op::Jeq64K, 1, 0, static_cast<int16_t>(body), 0);
    for (int i = 0; i < body; ++i) p << I(Op::Mul64K, 0, 0, 0, 3);
    p.exit();
    EXPECT_SAME_AS_INTERP(p.insns);
  }
}

// Loop heads start on 16-byte boundaries; forward jumps over several of them near the rel8 limit
// still get a size that fits (the padding can grow when code before it shrinks), and the layout
// settles in a few passes.
TEST(JitJump, LoopHeadsAreAlignedAndForwardJumpsStillFit) {
  for (int filler = 0; filler < 24; ++filler) {
    Prog p;
    p << I(Op::Mov64K, 0, 0, 0, 0) << I(Op::Mov64K, 1, 0, 0, 0);
    p << I(Op::Jeq64K, 1, 0, static_cast<int16_t>(3 * 4 + filler), 0);  // over everything below
    for (int loop = 0; loop < 3; ++loop) {                              // heads at pcs 4, 8, 12
      p << I(Op::Mov64K, 2, 0, 0, 3) << I(Op::Add64K, 0, 0, 0, loop + 1);
      p << I(Op::Sub64K, 2, 0, 0, 1) << I(Op::Jne64K, 2, 0, -3, 0);
    }
    for (int i = 0; i < filler; ++i) p << I(Op::Xor64K, 3, 0, 0, i);
    p << I(Op::Add64K, 0, 0, 0, 1000);
    p.exit();
    for (int r1 : {0, 1}) {
      Prog q = p;
      q.insns[1].imm = r1;
      EXPECT_SAME_AS_INTERP(q.insns);
    }
    auto exe = jit::compile(p.insns, test_helpers(), {}, host_tuning());
    ASSERT_TRUE(exe);
    const NativeLayout n = (*exe)->native_layout();
    EXPECT_LE(layout_passes(**exe), 3);
    for (size_t head : {4u, 8u, 12u})
      EXPECT_EQ(reinterpret_cast<uintptr_t>(n.code + n.insn_offsets[head]) % 16, 0u)
          << "filler " << filler << " head " << head;
  }
}

TEST(JitJump, GotolAndJa) {
  Prog p;
  p << I(Op::Mov64K, 0, 0, 0, 1);
  p << I(Op::Gotol, 0, 0, 0, 2);
  p << I(Op::Mov64K, 0, 0, 0, 2);
  p << I(Op::Exit);
  p << I(Op::Ja, 0, 0, 0);  // a jump to the next instruction
  p << I(Op::Add64K, 0, 0, 0, 40);
  p << I(Op::Gotol, 0, 0, 0, -4);  // back to pc 3, the exit
  p.exit();
  EXPECT_SAME_AS_INTERP(p.insns);
}

TEST(JitJump, MayGotoStopsTheLoop) {
  Prog p;
  p << I(Op::Mov64K, 0, 0, 0, 0);
  p << I(Op::MayGoto, 0, 0, 2);
  p << I(Op::Add64K, 0, 0, 0, 1);
  p << I(Op::Ja, 0, 0, -3);
  p.exit();
  // 8M iterations: compare the unchecked modes only (a budget would stop it first).
  for (bool checked : {false, true}) {
    Variant v{"may_goto", true, {checked, 0}, host_tuning()};
    Variant ref = v;
    ref.jit = false;
    const test::Run want = run(ref, p.insns, {});
    const test::Run got = run(v, p.insns, {});
    EXPECT_EQ(want.r0, uint64_t{BPFBOX_MAX_LOOPS});
    EXPECT_EQ(got.r0, want.r0);
  }
}

}  // namespace
}  // namespace bpfbox::vm::jit::test

namespace bpfbox::vm::jit::test {
namespace {

// "r -= 1; if r != 0" reuses the subtraction's flags, but not where another path jumps in.
TEST(JitJump, FlagsAreReusedOnlyOnTheFallThroughPath) {
  for (Op alu : {Op::Sub64K, Op::Sub32K, Op::And64K, Op::Xor32K, Op::Add64K}) {
    for (Op jmp : {Op::Jne64K, Op::Jeq64K, Op::Jne32K, Op::Jeq32K}) {
      for (int32_t start : {5, 1, 0, -1}) {
        Prog p;
        p << I(Op::Mov64K, 1, 0, 0, start) << I(Op::Mov64K, 2, 0, 0, 0);
        p.lddw(3, 0x100000000ull);
        p << I(Op::Add64X, 1, 3);
        p << I(Op::Jeq64K, 2, 0, 1, 0);  // to the jump below, with flags from this compare
        p << I(alu, 1, 0, 0, 1);
        p << I(jmp, 1, 0, 2, 0);
        p << I(Op::Mov64K, 0, 0, 0, 1) << I(Op::Exit);
        p << I(Op::Mov64K, 0, 0, 0, 2) << I(Op::Exit);
        EXPECT_SAME_AS_INTERP(p.insns);
        // The same without the jump in: the fused form.
        Prog q;
        q << I(Op::Mov64K, 1, 0, 0, start);
        q.lddw(3, 0x100000000ull);
        q << I(Op::Add64X, 1, 3) << I(alu, 1, 0, 0, 1) << I(jmp, 1, 0, 2, 0);
        q << I(Op::Mov64K, 0, 0, 0, 1) << I(Op::Exit);
        q << I(Op::Mov64K, 0, 0, 0, 2) << I(Op::Exit);
        EXPECT_SAME_AS_INTERP(q.insns);
      }
    }
  }
}

}  // namespace
}  // namespace bpfbox::vm::jit::test
