// Every ALU, byte-order and jump operation of the ISA on edge values, against the interpreter.
// Operands come from memory (so LLVM cannot fold them: the generated code computes) and, in a
// second program, from constants (so LLVM's constant folder is held to the same semantics).
#include <gtest/gtest.h>

#include <cstring>

#include "llvm_harness.hpp"

namespace bpfbox::vm::llvm_tier::test {
namespace {

using bpfbox::test::I;
using bpfbox::test::Prog;
using isa::Insn;
using isa::Kind;
using isa::Op;

const uint64_t kEdges[] = {0,
                           1,
                           63,
                           0xffffffffffffffff,
                           0x7fffffff,
                           0x80000000,
                           0xffffffff,
                           0x8000000000000000,
                           0x123456789abcdef0};

// Only the plain -O2 mode: these tests are about values (the other tests cover the modes).
std::string compare_unchecked(const std::vector<Insn>& prog, const std::vector<uint8_t>& mem) {
  for (const Mode& m : llvm_modes()) {
    if (m.opts.checked || m.opts.insn_budget || m.opt_level != 2) continue;
    const Run want = run(EngineKind::Interp, m, prog, mem);
    const Run got = run(EngineKind::Llvm, m, prog, mem);
    if (!got.error.empty() || want.error != got.error) return m.name + ": " + got.error;
    if (want.r0 != got.r0) return m.name + ": r0 differs";
    for (size_t i = 0; i < mem.size(); i += 8) {
      uint64_t a, b;
      std::memcpy(&a, want.mem.data() + i, 8);
      std::memcpy(&b, got.mem.data() + i, 8);
      if (a != b)
        return m.name + ": case " + std::to_string(i / 16) + ": interp " + jit::test::r0_hex(a) +
               " llvm " + jit::test::r0_hex(b);
    }
  }
  return "";
}

// `op` on dst r2 with r3 or (the low 32 bits of) b as its operand, the other fields as the
// operation requires.
Insn operation(Op op, uint64_t b) {
  const isa::OpInfo& o = isa::info(op);
  const int16_t off = o.discr == isa::Discr::Off ? static_cast<int16_t>(o.discr_value) : 0;
  int32_t imm = (o.zero_mask & isa::Zero::Imm) ? 0 : static_cast<int32_t>(b);
  if (o.discr == isa::Discr::Imm) imm = o.discr_value;
  const uint8_t src = (o.zero_mask & isa::Zero::Src) ? 0 : 3;
  return I(op, 2, src, off, imm);
}

// For each (a, b) pair: r2 = a, r3 = b (loaded from memory, or lddw constants), `op`, then r2 and
// (for fetching forms) r3 stored back over the pair.
void check_binary(Op op) {
  std::vector<uint8_t> mem;
  for (uint64_t a : kEdges)
    for (uint64_t b : kEdges) {
      uint64_t pair[2] = {a, b};
      mem.insert(mem.end(), reinterpret_cast<uint8_t*>(pair), reinterpret_cast<uint8_t*>(pair + 2));
    }
  for (bool constants : {false, true}) {
    Prog p;
    int16_t at = 0;
    for (uint64_t a : kEdges)
      for (uint64_t b : kEdges) {
        if (constants)
          p.lddw(2, a).lddw(3, b);
        else
          p << I(Op::LdxDW, 2, 1, at) << I(Op::LdxDW, 3, 1, static_cast<int16_t>(at + 8));
        p << operation(op, b);
        p << I(Op::StxDW, 1, 2, at) << I(Op::StxDW, 1, 3, static_cast<int16_t>(at + 8));
        at = static_cast<int16_t>(at + 16);
      }
    p << I(Op::Mov64K, 0, 0, 0, 1) << I(Op::Exit);
    const std::string d = compare_unchecked(p.insns, mem);
    EXPECT_TRUE(d.empty()) << isa::name(op) << (constants ? " (constants)" : " (memory)") << ": "
                           << d;
  }
}

TEST(LlvmInstructions, AluOnEdgeValues) {
  for (int i = 0; i < isa::kOpCount; ++i) {
    const Op op = static_cast<Op>(i);
    const Kind k = isa::info(op).kind;
    if (k == Kind::Alu || k == Kind::Mov || k == Kind::Movsx || k == Kind::Neg || k == Kind::End)
      check_binary(op);
  }
}

// Jumps: each case stores whether the jump was taken.
TEST(LlvmInstructions, JumpConditionsOnEdgeValues) {
  for (int i = 0; i < isa::kOpCount; ++i) {
    const Op op = static_cast<Op>(i);
    const isa::OpInfo& o = isa::info(op);
    if (o.kind != Kind::Jcond) continue;
    std::vector<uint8_t> mem;
    Prog p;
    int16_t at = 0;
    for (uint64_t a : kEdges)
      for (uint64_t b : kEdges) {
        uint64_t pair[2] = {a, b};
        mem.insert(mem.end(), reinterpret_cast<uint8_t*>(pair),
                   reinterpret_cast<uint8_t*>(pair + 2));
        p << I(Op::LdxDW, 2, 1, at) << I(Op::LdxDW, 3, 1, static_cast<int16_t>(at + 8));
        p << I(Op::Mov64K, 4, 0, 0, 0);
        Insn j = operation(op, b);
        j.off = 1;
        p << j;
        p << I(Op::Mov64K, 4, 0, 0, 1);  // skipped when taken
        p << I(Op::StxDW, 1, 4, at);
        at = static_cast<int16_t>(at + 16);
      }
    p << I(Op::Mov64K, 0, 0, 0, 1) << I(Op::Exit);
    const std::string d = compare_unchecked(p.insns, mem);
    EXPECT_TRUE(d.empty()) << isa::name(op) << ": " << d;
  }
}

TEST(LlvmInstructions, GotolAndBackwardLoops) {
  Prog p;  // r0 = sum 1..100 with a backward jump, then a gotol over a trap
  p << I(Op::Mov64K, 0, 0, 0, 0) << I(Op::Mov64K, 1, 0, 0, 100);
  p << I(Op::Add64X, 0, 1) << I(Op::Sub64K, 1, 0, 0, 1) << I(Op::Jne64K, 1, 0, -3, 0);
  p << I(Op::Gotol, 0, 0, 0, 2) << I(Op::Mov64K, 0, 0, 0, -1) << I(Op::Exit);
  p << I(Op::Exit);
  EXPECT_LLVM_SAME_AS_INTERP(p.insns);
  auto exe = llvm_tier::compile(p.insns, test_helpers(), {});
  ASSERT_TRUE(exe) << exe.status().message();
  RunContext rc;
  EXPECT_EQ((*exe)->run(rc, 0), 5050u);
}

TEST(LlvmInstructions, MayGotoStopsAnEndlessLoop) {
  Prog p;  // while (may_goto) r0++: the counter allows BPFBOX_MAX_LOOPS iterations
  p << I(Op::Mov64K, 0, 0, 0, 0) << I(Op::MayGoto, 0, 0, 2, 0) << I(Op::Add64K, 0, 0, 0, 1)
    << I(Op::Ja, 0, 0, -3, 0) << I(Op::Exit);
  auto exe = llvm_tier::compile(p.insns, test_helpers(), {});
  ASSERT_TRUE(exe) << exe.status().message();
  RunContext rc;
  EXPECT_EQ((*exe)->run(rc, 0), uint64_t{BPFBOX_MAX_LOOPS});
  EXPECT_LLVM_SAME_AS_INTERP(p.insns, {}, nullptr, 0, 1000);  // budget modes stop it early
}

TEST(LlvmInstructions, LoadsStoresAndSignExtendingLoads) {
  std::vector<uint8_t> mem(64);
  for (size_t i = 0; i < mem.size(); ++i) mem[i] = static_cast<uint8_t>(0x81 + i * 37);
  Prog p;
  int16_t out = 32;
  for (Op op : {Op::LdxB, Op::LdxH, Op::LdxW, Op::LdxDW, Op::LdxsB, Op::LdxsH, Op::LdxsW,
                Op::LoadAcqB, Op::LoadAcqH, Op::LoadAcqW, Op::LoadAcqDW}) {
    const isa::OpInfo& o = isa::info(op);
    p << I(op, 2, 1, 3, o.discr == isa::Discr::Imm ? o.discr_value : 0);
    p << I(Op::StxB, 1, 2, out++);
  }
  // Stores of every size, unaligned, from registers, immediates and through the stack.
  p << I(Op::LdxDW, 3, 1, 0) << I(Op::StxDW, 10, 3, -13) << I(Op::LdxW, 4, 10, -11);
  p << I(Op::StxW, 1, 4, 45) << I(Op::StH, 1, 0, 49, -3) << I(Op::StDW, 1, 0, 51, -7);
  p << I(Op::StoreRelDW, 1, 3, 56, 272) << I(Op::StB, 10, 0, -1, 5) << I(Op::LdxB, 0, 10, -1);
  p << I(Op::Exit);
  EXPECT_LLVM_SAME_AS_INTERP(p.insns, mem);
}

TEST(LlvmInstructions, AtomicsFetchAndCompareExchange) {
  for (int i = 0; i < isa::kOpCount; ++i) {
    const Op op = static_cast<Op>(i);
    const isa::OpInfo& o = isa::info(op);
    if (o.kind != Kind::Atomic) continue;
    // r0 matters to cmpxchg only: compared equal to the old value (64 and 32 bits) and not.
    std::vector<uint64_t> r0s = {0x1111111122222222};
    if (op == Op::Atomic64Cmpxchg || op == Op::Atomic32Cmpxchg)
      r0s = {0, 0x1111111122222222, 0x22222222};
    for (uint64_t r0 : r0s) {
      Prog p;
      p.lddw(0, r0).lddw(2, 0x0f0f0f0f0f0f0f0f);
      p << I(Op::LdxDW, 3, 1, 0) << I(Op::StxDW, 10, 3, -16);
      p << I(op, 1, 2, 8, o.discr_value) << I(op, 10, 2, -16, o.discr_value);
      p << I(Op::LdxDW, 4, 10, -16) << I(Op::StxDW, 1, 4, 16) << I(Op::StxDW, 1, 2, 24);
      p << I(Op::Exit);
      std::vector<uint8_t> mem(32);
      const uint64_t init[2] = {0x1111111122222222, 0x22222222};
      std::memcpy(mem.data(), init, 16);
      EXPECT_LLVM_SAME_AS_INTERP(p.insns, mem);
    }
  }
}

TEST(LlvmInstructions, PacketLoads) {
  const std::vector<uint8_t> pkt = {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x11};
  for (int32_t off : {0, 6, 8, -1, 0x7fffffff}) {
    for (Op op : {Op::LdAbsB, Op::LdAbsH, Op::LdAbsW}) {
      Prog p;
      p << I(op, 0, 0, 0, off) << I(Op::Add64K, 0, 0, 0, 1) << I(Op::Exit);
      EXPECT_LLVM_SAME_AS_INTERP(p.insns, {}, pkt.data(), static_cast<uint32_t>(pkt.size()));
      EXPECT_LLVM_SAME_AS_INTERP(p.insns, {}, nullptr, 0);  // no packet: the run ends, r0 = 0
    }
    for (Op op : {Op::LdIndB, Op::LdIndH, Op::LdIndW}) {
      Prog p;  // the offset is the low 32 bits of src + imm, read as an int
      p.lddw(3, 0x100000000ull + 2);
      p << I(op, 0, 3, 0, off) << I(Op::Add64K, 0, 0, 0, 1) << I(Op::Exit);
      EXPECT_LLVM_SAME_AS_INTERP(p.insns, {}, pkt.data(), static_cast<uint32_t>(pkt.size()));
    }
  }
}

TEST(LlvmInstructions, LddwAndUnreadRegistersStartAtZero) {
  Prog p;
  p.lddw(6, 0xdeadbeefcafebabe);
  p << I(Op::Add64X, 6, 7) << I(Op::Add64X, 6, 3) << I(Op::Mov64X, 0, 6) << I(Op::Exit);
  EXPECT_LLVM_SAME_AS_INTERP(p.insns);
}

}  // namespace
}  // namespace bpfbox::vm::llvm_tier::test
