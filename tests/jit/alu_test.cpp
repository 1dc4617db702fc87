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

}  // namespace
}  // namespace bpfbox::vm::jit::test
