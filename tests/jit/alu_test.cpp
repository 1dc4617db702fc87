// Every ALU operation, in both widths and operand forms, on every register pair (rax/rdx/rcx are
// special to x86 division and shifts) and on edge values: the JIT must leave the same ten
// registers as the interpreter.
#include <gtest/gtest.h>

#include <random>

#include "jit_harness.hpp"

namespace bpfbox::vm::jit::test {
namespace {

const uint64_t kEdges[] = {0,
                           1,
                           2,
                           7,
                           31,
                           32,
                           63,
                           64,
                           0x7fffffff,
                           0x80000000,
                           0xffffffff,
                           0x100000000,
                           0x8000000000000000,
                           0xffffffffffffffff,
                           0xfffffffffffffffe,
                           0x123456789abcdef0,
                           0xffffffff80000000};
const int32_t kImms[] = {0,      1,          -1,        2,  3,    7,       8,      31,
                         32,     33,         63,        64, 65,   0x7f,    0x80,   0xff,
                         0xffff, 0x7fffffff, INT32_MIN, -2, -128, 1 << 20, 0x12345};

std::vector<Op> binary_ops(bool x) {
  std::vector<Op> ops;
  for (int i = 0; i < isa::kOpCount; ++i) {
    const Op op = static_cast<Op>(i);
    const isa::OpInfo& o = isa::info(op);
    if (o.kind != isa::Kind::Alu && !(o.kind == isa::Kind::Mov)) continue;
    if (o.uses_src == x) ops.push_back(op);
  }
  return ops;
}

std::array<uint64_t, 10> state(std::mt19937_64& rng) {
  std::array<uint64_t, 10> s;
  for (auto& v : s) v = rng();
  return s;
}

TEST(JitAlu, RegisterFormsOnEveryRegisterPair) {
  std::mt19937_64 rng(1);
  for (Op op : binary_ops(true)) {
    for (uint8_t dst = 0; dst < 10; ++dst) {
      for (uint8_t src = 0; src < 10; ++src) {
        auto s = state(rng);
        s[dst] = kEdges[rng() % std::size(kEdges)];
        if (src != dst) s[src] = kEdges[rng() % std::size(kEdges)];
        const auto prog = with_state(s, {I(op, dst, src)});
        const std::string d = compare_engines(prog, std::vector<uint8_t>(80));
        ASSERT_TRUE(d.empty()) << isa::name(op) << " r" << int(dst) << ", r" << int(src) << "\n"
                               << d;
      }
    }
  }
}

TEST(JitAlu, RegisterFormsOnEdgeValues) {
  std::mt19937_64 rng(2);
  for (Op op : binary_ops(true)) {
    for (uint64_t a : kEdges) {
      for (int j = 0; j < 4; ++j) {
        const uint64_t b = kEdges[rng() % std::size(kEdges)];
        auto s = state(rng);
        const uint8_t dst = static_cast<uint8_t>(rng() % 10),
                      src = static_cast<uint8_t>((dst + 1 + rng() % 9) % 10);
        s[dst] = a;
        s[src] = b;
        const auto prog = with_state(s, {I(op, dst, src)});
        const std::string d = compare_engines(prog, std::vector<uint8_t>(80));
        ASSERT_TRUE(d.empty()) << isa::name(op) << "\n" << d;
      }
    }
  }
}

TEST(JitAlu, ImmediateForms) {
  std::mt19937_64 rng(3);
  for (Op op : binary_ops(false)) {
    for (int32_t imm : kImms) {
      for (uint64_t a :
           {uint64_t{0}, uint64_t{5}, uint64_t{0xffffffffffffffff}, uint64_t{0x8000000000000000},
            uint64_t{0x80000000}, uint64_t{0x123456789abcdef0}}) {
        auto s = state(rng);
        const uint8_t dst = static_cast<uint8_t>(rng() % 10);
        s[dst] = a;
        const auto prog = with_state(s, {I(op, dst, 0, 0, imm)});
        const std::string d = compare_engines(prog, std::vector<uint8_t>(80));
        ASSERT_TRUE(d.empty()) << isa::name(op) << " imm " << imm << "\n" << d;
      }
    }
  }
}

// Unsigned division and modulo by a constant compile to a multiplication by the reciprocal, with
// rax and rdx borrowed: every destination register (r0 and r3 are rax and rdx), divisors that take
// either form of the 64-bit sequence (7 needs the 65-bit reciprocal, 13 does not), 32-bit divisors
// past 2^31, and dividends at the edges.
TEST(JitAlu, DivisionByConstantsOnEveryRegister) {
  std::mt19937_64 rng(5);
  const int32_t divisors[] = {3, 7, 10, 13, 641, 1000000007, 0x7fffffff, -7, -1000, 0x12345};
  for (Op op : {Op::Div64K, Op::Mod64K, Op::Div32K, Op::Mod32K}) {
    for (int32_t imm : divisors) {
      for (uint8_t dst = 0; dst < 10; ++dst) {
        for (int j = 0; j < 2; ++j) {
          auto s = state(rng);
          s[dst] = j ? rng() : kEdges[rng() % std::size(kEdges)];
          const auto prog = with_state(s, {I(op, dst, 0, 0, imm)});
          const std::string d = compare_engines(prog, std::vector<uint8_t>(80));
          ASSERT_TRUE(d.empty()) << isa::name(op) << " r" << int(dst) << " imm " << imm << "\n"
                                 << d;
        }
      }
    }
  }
}

TEST(JitAlu, UnaryOperations) {
  std::mt19937_64 rng(4);
  for (int i = 0; i < isa::kOpCount; ++i) {
    const Op op = static_cast<Op>(i);
    const isa::Kind k = isa::info(op).kind;
    if (k != isa::Kind::Neg && k != isa::Kind::End && k != isa::Kind::Movsx) continue;
    for (uint8_t dst = 0; dst < 10; ++dst) {
      for (uint64_t a : kEdges) {
        auto s = state(rng);
        const uint8_t src = static_cast<uint8_t>(rng() % 10);
        s[dst] = a;
        if (src != dst) s[src] = a ^ 0x8080808080808080;
        const auto prog = with_state(s, {I(op, dst, k == isa::Kind::Movsx ? src : 0)});
        const std::string d = compare_engines(prog, std::vector<uint8_t>(80));
        ASSERT_TRUE(d.empty()) << isa::name(op) << "\n" << d;
      }
    }
  }
}

TEST(JitAlu, Lddw) {
  std::mt19937_64 rng(5);
  for (uint64_t v : kEdges) {
    for (uint8_t dst = 0; dst < 10; ++dst) {
      Prog p;
      p.lddw(dst, v);
      const std::string d =
          compare_engines(with_state(state(rng), p.insns), std::vector<uint8_t>(80));
      ASSERT_TRUE(d.empty()) << d;
    }
  }
}

}  // namespace
}  // namespace bpfbox::vm::jit::test

namespace bpfbox::vm::jit::test {
namespace {

// Registers start at zero (r1, r2 the arguments); the prologue zeroes only those the program may
// read before writing.
TEST(JitEntry, RegistersStartAtZero) {
  for (uint8_t first : {uint8_t{0}, uint8_t{3}, uint8_t{6}, uint8_t{9}}) {
    Prog p;
    p << I(Op::Mov64K, first, 0, 0, 77);  // written before any read: needs no zeroing
    p << I(Op::Jeq64K, 1, 0, 0, 0);       // the straight-line start ends here
    p << I(Op::Mov64X, 0, first);
    for (uint8_t r = 2; r <= 9; ++r) p << I(Op::Mul64K, 0, 0, 0, 3) << I(Op::Add64X, 0, r);
    p.exit();
    EXPECT_SAME_AS_INTERP(p.insns, std::vector<uint8_t>(24));
  }
  Prog q;
  q << I(Op::Add64X, 3, 4) << I(Op::Mov64X, 0, 3) << I(Op::Exit);
  EXPECT_SAME_AS_INTERP(q.insns);
}

// `rX = rY; rX += imm` (and -=, and += rZ) compiles to one lea when both are 64-bit or both 32-bit:
// every register pair, immediates and third registers, the 32-bit wrap, and the mixed widths that
// must stay two instructions.
TEST(JitAlu, CopyAndOffsetPairs) {
  struct Pair {
    Op mov, add;
    bool fused;
  };
  const Pair pairs[] = {{Op::Mov64X, Op::Add64K, true},  {Op::Mov64X, Op::Sub64K, true},
                        {Op::Mov32X, Op::Add32K, true},  {Op::Mov32X, Op::Sub32K, true},
                        {Op::Mov64X, Op::Add64X, true},  {Op::Mov32X, Op::Add32X, true},
                        {Op::Mov32X, Op::Add64K, false}, {Op::Mov64X, Op::Add32K, false},
                        {Op::Mov32X, Op::Add64X, false}};
  std::mt19937_64 rng(6);
  for (const Pair& pr : pairs) {
    const bool x = isa::info(pr.add).uses_src;
    auto check = [&](uint8_t dst, uint8_t src, uint8_t other, int32_t imm) {
      auto s = state(rng);
      s[other] = kEdges[rng() % std::size(kEdges)];
      s[src] = kEdges[rng() % std::size(kEdges)];
      const Insn add = x ? I(pr.add, dst, other) : I(pr.add, dst, 0, 0, imm);
      const auto prog = with_state(s, {I(pr.mov, dst, src), add});
      const std::string d = compare_engines(prog, std::vector<uint8_t>(80));
      ASSERT_TRUE(d.empty()) << isa::name(pr.mov) << "+" << isa::name(pr.add) << " r" << int(dst)
                             << ", r" << int(src) << ", r" << int(other) << " imm " << imm << "\n"
                             << d;
    };
    auto reg = [&] { return static_cast<uint8_t>(rng() % 10); };
    if (pr.fused)  // every register pair through the lea encodings
      for (uint8_t dst = 0; dst < 10; ++dst)
        for (uint8_t src = 0; src < 10; ++src)
          check(dst, src, reg(), kImms[rng() % std::size(kImms)]);
    for (int32_t imm : kImms) check(reg(), reg(), reg(), imm);
    // Fused, the add has no code of its own (sub of INT32_MIN has no lea form).
    for (int32_t imm : {4, -8, INT32_MIN}) {
      Prog p;
      p << I(pr.mov, 2, 1) << (x ? I(pr.add, 2, 7) : I(pr.add, 2, 0, 0, imm))
        << I(Op::Mov64X, 0, 2);
      p.exit();
      auto exe = jit::compile(p.insns, test_helpers(), {});
      ASSERT_TRUE(exe);
      const auto off = (*exe)->native_layout().insn_offsets;
      const bool fused =
          pr.fused && !(imm == INT32_MIN && (pr.add == Op::Sub64K || pr.add == Op::Sub32K));
      EXPECT_EQ(off[1] == off[2], fused) << isa::name(pr.mov) << "+" << isa::name(pr.add);
    }
  }
}

// The add stays separate where a jump lands on it, and r10 works as the base (stack arguments).
TEST(JitAlu, CopyAndOffsetAcrossAJumpAndFromR10) {
  for (int32_t r4 : {0, 1}) {
    Prog p;
    p << I(Op::Mov64K, 4, 0, 0, r4) << I(Op::Mov64K, 2, 0, 0, 100) << I(Op::Mov64K, 3, 0, 0, 9);
    p << I(Op::Jeq64K, 4, 0, 1, 0);  // onto the add, past the copy
    p << I(Op::Mov64X, 2, 3) << I(Op::Add64K, 2, 0, 0, 4);
    p << I(Op::Mov64X, 0, 2);
    p.exit();
    EXPECT_SAME_AS_INTERP(p.insns);
  }
  Prog p;
  p << I(Op::Mov64X, 2, 10) << I(Op::Add64K, 2, 0, 0, -8);
  p << I(Op::StDW, 2, 0, 0, 77) << I(Op::Mov64X, 3, 10) << I(Op::Sub64K, 3, 0, 0, 16);
  p << I(Op::StxDW, 3, 2) << I(Op::LdxDW, 0, 10, -8) << I(Op::LdxDW, 4, 10, -16);
  p << I(Op::Sub64X, 4, 10) << I(Op::Add64X, 0, 4);  // 77 + (-8)
  // r10 as the base and as the index of the register form (rbp: a base that needs a disp8).
  p << I(Op::Mov64K, 5, 0, 0, -24) << I(Op::Mov64X, 3, 10) << I(Op::Add64X, 3, 5);
  p << I(Op::StDW, 3, 0, 0, 5) << I(Op::Mov64X, 3, 5) << I(Op::Add64X, 3, 10);
  p << I(Op::LdxDW, 3, 3, 0) << I(Op::Add64X, 0, 3);  // + 5
  p.exit();
  EXPECT_SAME_AS_INTERP(p.insns);
}

}  // namespace
}  // namespace bpfbox::vm::jit::test
