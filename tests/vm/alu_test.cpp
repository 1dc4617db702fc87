// ALU and ALU64: every operation in both operand forms with the edge values the ISA defines.
#include <cstdint>
#include <limits>

#include "vm_test_util.hpp"

namespace bpfbox::vm::test {
namespace {

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
constexpr uint64_t kMin64 = 0x8000000000000000ull;
constexpr uint64_t kHigh = 0xdeadbeef00000000ull;  // garbage the 32-bit forms must ignore and clear

// r0 = a; r0 = r0 OP r1 with r1 = b.
uint64_t alu_x(Op op, uint64_t a, uint64_t b) {
  Prog p;
  p.lddw(0, a).lddw(1, b) << I(op, 0, 1) << exit_insn();
  return run_r0(p.insns);
}
// r0 = a; r0 = r0 OP imm.
uint64_t alu_k(Op op, uint64_t a, int32_t imm) {
  Prog p;
  p.lddw(0, a) << I(op, 0, 0, 0, imm) << exit_insn();
  return run_r0(p.insns);
}

struct Case {
  Op k, x;
  uint64_t a, b, want;
};
#define KX(name) Op::name##K, Op::name##X

bool fits_imm64(uint64_t b) {
  const int64_t s = static_cast<int64_t>(b);
  return s >= INT32_MIN && s <= INT32_MAX;
}

void check64(const Case& c) {
  SCOPED_TRACE(std::string(isa::name(c.x)) + " a=" + std::to_string(c.a) +
               " b=" + std::to_string(c.b));
  EXPECT_EQ(alu_x(c.x, c.a, c.b), c.want);
  // The immediate is sign-extended to 64 bits, so it can stand for b when b is an s32.
  if (fits_imm64(c.b)) {
    EXPECT_EQ(alu_k(c.k, c.a, static_cast<int32_t>(c.b)), c.want);
  }
}

void check32(const Case& c) {
  SCOPED_TRACE(std::string(isa::name(c.x)) + " a=" + std::to_string(c.a) +
               " b=" + std::to_string(c.b));
  EXPECT_EQ(alu_x(c.x, c.a, c.b), c.want);
  EXPECT_EQ(alu_k(c.k, c.a, static_cast<int32_t>(static_cast<uint32_t>(c.b))), c.want);
  // The upper half of either operand never matters and the result is zero-extended.
  EXPECT_EQ(alu_x(c.x, c.a | kHigh, c.b | kHigh), c.want);
}

TEST(Alu64, Arithmetic) {
  const Case cases[] = {
      {KX(Add64), kMax, 1, 0},
      {KX(Add64), 5, static_cast<uint64_t>(-7), static_cast<uint64_t>(-2)},
      {KX(Add64), 0xffffffffull, 1, 0x100000000ull},
      {KX(Sub64), 0, 1, kMax},
      {KX(Sub64), 10, static_cast<uint64_t>(-5), 15},
      {KX(Mul64), 0x100000000ull, 0x100000000ull, 0},
      {KX(Mul64), static_cast<uint64_t>(-3), 7, static_cast<uint64_t>(-21)},
      {KX(Mul64), 0x123456789ull, 0x10, 0x1234567890ull},
      {KX(Div64), 100, 7, 14},
      {KX(Div64), kMax, 2, 0x7fffffffffffffffull},
      {KX(Div64), 5, static_cast<uint64_t>(-1), 0},  // unsigned: 5 / 2^64-1
      {KX(Div64), kMax, static_cast<uint64_t>(-1), 1},
      {KX(Div64), 12345, 0, 0},  // division by zero gives 0
      {KX(Mod64), 100, 7, 2},
      {KX(Mod64), kMax, 0x10, 0xf},
      {KX(Mod64), 12345, 0, 12345},  // modulo by zero leaves dst
      {KX(Mod64), kMax, 0, kMax},
  };
  for (const Case& c : cases) check64(c);
}

TEST(Alu64, SignedDivisionEdges) {
  const Case cases[] = {
      {KX(Sdiv64), static_cast<uint64_t>(-7), 2, static_cast<uint64_t>(-3)},  // truncates to zero
      {KX(Sdiv64), 7, static_cast<uint64_t>(-2), static_cast<uint64_t>(-3)},
      {KX(Sdiv64), static_cast<uint64_t>(-8), static_cast<uint64_t>(-2), 4},
      {KX(Sdiv64), kMin64, static_cast<uint64_t>(-1), kMin64},  // overflow: no trap, MIN
      {KX(Sdiv64), 42, static_cast<uint64_t>(-1), static_cast<uint64_t>(-42)},
      {KX(Sdiv64), static_cast<uint64_t>(-42), 0, 0},  // by zero gives 0
      {KX(Sdiv64), kMin64, 1, kMin64},
      {KX(Smod64), static_cast<uint64_t>(-7), 2, static_cast<uint64_t>(-1)},  // sign of dividend
      {KX(Smod64), 7, static_cast<uint64_t>(-2), 1},
      {KX(Smod64), kMin64, static_cast<uint64_t>(-1), 0},  // overflow: no trap, 0
      {KX(Smod64), static_cast<uint64_t>(-5), 0, static_cast<uint64_t>(-5)},  // by zero: dst
      {KX(Smod64), kMin64, 3, static_cast<uint64_t>(-2)},
  };
  for (const Case& c : cases) check64(c);
}

TEST(Alu64, Bitwise) {
  const Case cases[] = {
      {KX(Or64), 0xf0, 0x0f, 0xff},
      {KX(Or64), 0, static_cast<uint64_t>(-2), 0xfffffffffffffffeull},  // imm sign-extends
      {KX(And64), 0xffff0000ffff0000ull, 0x0ff00ff00ff00ff0ull, 0x0ff000000ff00000ull},
      {KX(And64), 0x123456789abcdef0ull, static_cast<uint64_t>(-1), 0x123456789abcdef0ull},
      {KX(And64), 0x123456789abcdef0ull, 0x7fffffff, 0x1abcdef0ull},
      {KX(Xor64), kMax, 0x0f0f, 0xfffffffffffff0f0ull},
      {KX(Xor64), 0x5555, static_cast<uint64_t>(-1), 0xffffffffffffaaaaull},
      {KX(Mov64), 0x1234, static_cast<uint64_t>(-1), kMax},  // mov imm sign-extends
      {KX(Mov64), kMax, 7, 7},
  };
  for (const Case& c : cases) check64(c);
}

TEST(Alu64, ShiftsMaskTheAmount) {
  const Case cases[] = {
      {KX(Lsh64), 1, 63, kMin64},
      {KX(Lsh64), 1, 64, 1},  // 64 & 63 == 0
      {KX(Lsh64), 1, 65, 2},
      {KX(Lsh64), 3, static_cast<uint64_t>(-1), kMin64},  // -1 & 63 == 63
      {KX(Lsh64), 0xff, 0x100000004ull, 0xff0},           // only the low 6 bits count
      {KX(Rsh64), kMin64, 63, 1},
      {KX(Rsh64), kMin64, 64, kMin64},
      {KX(Rsh64), kMax, 4, 0x0fffffffffffffffull},  // logical: zeros come in
      {KX(Rsh64), kMax, 68, 0x0fffffffffffffffull},
      {KX(Arsh64), kMin64, 63, kMax},  // arithmetic: the sign comes in
      {KX(Arsh64), kMin64, 64, kMin64},
      {KX(Arsh64), static_cast<uint64_t>(-16), 2, static_cast<uint64_t>(-4)},
      {KX(Arsh64), static_cast<uint64_t>(-16), 66, static_cast<uint64_t>(-4)},
      {KX(Arsh64), 0x4000000000000000ull, 62, 1},
  };
  for (const Case& c : cases) check64(c);
}

TEST(Alu32, ArithmeticWrapsAndZeroExtends) {
  const Case cases[] = {
      {KX(Add32), 0xffffffff, 1, 0},
      {KX(Add32), 5, 3, 8},
      {KX(Add32), 0x7fffffff, 1, 0x80000000},
      {KX(Sub32), 0, 1, 0xffffffff},
      {KX(Sub32), 3, 5, 0xfffffffe},
      {KX(Mul32), 0x10000, 0x10000, 0},
      {KX(Mul32), 0xffffffff, 2, 0xfffffffe},
      {KX(Mul32), 0x12345, 0x10, 0x123450},
      {KX(Div32), 0xffffffff, 2, 0x7fffffff},  // unsigned
      {KX(Div32), 100, 7, 14},
      {KX(Div32), 100, 0, 0},  // by zero gives 0
      {KX(Mod32), 100, 7, 2},
      {KX(Mod32), 0xffffffff, 0x10, 0xf},
      {KX(Mod32), 0x87654321, 0, 0x87654321},  // by zero: low half of dst, zero-extended
  };
  for (const Case& c : cases) check32(c);
  // A divisor whose low half is zero is a division by zero for the 32-bit forms.
  EXPECT_EQ(alu_x(Op::Div32X, 100, 0x100000000ull), 0u);
  EXPECT_EQ(alu_x(Op::Mod32X, 0xabcd00000064ull, 0x100000000ull), 0x64u);
}

TEST(Alu32, SignedDivisionEdges) {
  const Case cases[] = {
      {KX(Sdiv32), static_cast<uint32_t>(-7), 2, static_cast<uint32_t>(-3)},
      {KX(Sdiv32), 7, static_cast<uint32_t>(-2), static_cast<uint32_t>(-3)},
      {KX(Sdiv32), 0x80000000, 0xffffffff, 0x80000000},  // INT32_MIN / -1
      {KX(Sdiv32), 0x80000000, 0, 0},
      {KX(Sdiv32), 0x80000000, 1, 0x80000000},
      {KX(Smod32), static_cast<uint32_t>(-7), 2, 0xffffffff},
      {KX(Smod32), 7, static_cast<uint32_t>(-2), 1},
      {KX(Smod32), 0x80000000, 0xffffffff, 0},  // INT32_MIN % -1
      {KX(Smod32), 0x80000005, 0, 0x80000005},  // by zero: dst (low half)
  };
  for (const Case& c : cases) check32(c);
  // A 32-bit -1 divisor is -1 however the upper half looks, and INT64_MIN is not INT32_MIN.
  EXPECT_EQ(alu_x(Op::Sdiv32X, kMin64, static_cast<uint64_t>(-1)), 0u);
}

TEST(Alu32, BitwiseAndMoves) {
  const Case cases[] = {
      {KX(Or32), 0xf0, 0x0f, 0xff},
      {KX(Or32), 0, 0xfffffffe, 0xfffffffe},  // no sign extension to 64 bits
      {KX(And32), 0xffff0000, 0x0ff00ff0, 0x0ff00000},
      {KX(Xor32), 0xffffffff, 0x0f0f, 0xfffff0f0},
      {KX(Mov32), 0x1234, 0xffffffff, 0xffffffff},
      {KX(Mov32), 0, 0x12345678, 0x12345678},
  };
  for (const Case& c : cases) check32(c);
  EXPECT_EQ(alu_k(Op::Mov32K, kMax, -1), 0xffffffffu);
}

TEST(Alu32, ShiftsMaskTheAmount) {
  const Case cases[] = {
      {KX(Lsh32), 1, 31, 0x80000000},
      {KX(Lsh32), 1, 32, 1},
      {KX(Lsh32), 1, 33, 2},
      {KX(Lsh32), 0xffffffff, 4, 0xfffffff0},  // bits shifted out are gone
      {KX(Lsh32), 3, 0xffffffff, 0x80000000},  // -1 & 31 == 31
      {KX(Rsh32), 0x80000000, 31, 1},
      {KX(Rsh32), 0x80000000, 32, 0x80000000},
      {KX(Rsh32), 0xffffffff, 36, 0x0fffffff},
      {KX(Arsh32), 0x80000000, 31, 0xffffffff},
      {KX(Arsh32), 0x80000000, 32, 0x80000000},
      {KX(Arsh32), 0x80000000, 4, 0xf8000000},
      {KX(Arsh32), static_cast<uint32_t>(-16), 34, static_cast<uint32_t>(-4)},
      {KX(Arsh32), 0x40000000, 30, 1},
  };
  for (const Case& c : cases) check32(c);
  // The sign bit is bit 31 of dst, never bit 63.
  EXPECT_EQ(alu_k(Op::Arsh32K, 0x8000000000000001ull, 1), 0u);
}

uint64_t unary(Op op, uint64_t dst_value, uint64_t src_value = 0) {
  Prog p;
  p.lddw(0, dst_value).lddw(1, src_value) << I(op, 0, 1) << exit_insn();
  return run_r0(p.insns);
}
uint64_t unary_dst(Op op, uint64_t v) {
  Prog p;
  p.lddw(0, v) << I(op, 0) << exit_insn();
  return run_r0(p.insns);
}

TEST(Alu, Negation) {
  EXPECT_EQ(unary_dst(Op::Neg64, 5), static_cast<uint64_t>(-5));
  EXPECT_EQ(unary_dst(Op::Neg64, kMin64), kMin64);
  EXPECT_EQ(unary_dst(Op::Neg64, 0), 0u);
  EXPECT_EQ(unary_dst(Op::Neg32, 1 | kHigh), 0xffffffffu);
  EXPECT_EQ(unary_dst(Op::Neg32, 0x80000000 | kHigh), 0x80000000u);
  EXPECT_EQ(unary_dst(Op::Neg32, kHigh), 0u);
}

TEST(Alu, MovsxSignExtendsEveryWidth) {
  // 64-bit forms extend into all 64 bits.
  EXPECT_EQ(unary(Op::Movsx64_8, kMax, 0x80), 0xffffffffffffff80ull);
  EXPECT_EQ(unary(Op::Movsx64_8, kMax, 0x7f), 0x7full);
  EXPECT_EQ(unary(Op::Movsx64_8, 0, 0x12345680), 0xffffffffffffff80ull);  // only the low byte
  EXPECT_EQ(unary(Op::Movsx64_16, 0, 0x8000), 0xffffffffffff8000ull);
  EXPECT_EQ(unary(Op::Movsx64_16, 0, 0xffff7fff), 0x7fffull);
  EXPECT_EQ(unary(Op::Movsx64_32, 0, 0x80000000), 0xffffffff80000000ull);
  EXPECT_EQ(unary(Op::Movsx64_32, 0, 0xffffffff7fffffffull), 0x7fffffffull);
  // 32-bit forms extend into 32 bits and zero the upper half.
  EXPECT_EQ(unary(Op::Movsx32_8, kMax, 0x80), 0xffffff80ull);
  EXPECT_EQ(unary(Op::Movsx32_8, kMax, 0x7f), 0x7full);
  EXPECT_EQ(unary(Op::Movsx32_16, kMax, 0x8000), 0xffff8000ull);
  EXPECT_EQ(unary(Op::Movsx32_16, kMax, 0xabcd1234), 0x1234ull);
}

TEST(Alu, ByteOrder) {
  const uint64_t v = 0x1122334455667788ull;
  // On a little-endian host "le" only truncates (zero-extends) ...
  EXPECT_EQ(unary_dst(Op::Le16, v), 0x7788u);
  EXPECT_EQ(unary_dst(Op::Le32, v), 0x55667788u);
  EXPECT_EQ(unary_dst(Op::Le64, v), v);
  // ... "be" swaps and truncates ...
  EXPECT_EQ(unary_dst(Op::Be16, v), 0x8877u);
  EXPECT_EQ(unary_dst(Op::Be32, v), 0x88776655u);
  EXPECT_EQ(unary_dst(Op::Be64, v), 0x8877665544332211ull);
  // ... and bswap swaps whatever the host.
  EXPECT_EQ(unary_dst(Op::Bswap16, v), 0x8877u);
  EXPECT_EQ(unary_dst(Op::Bswap32, v), 0x88776655u);
  EXPECT_EQ(unary_dst(Op::Bswap64, v), 0x8877665544332211ull);
}

TEST(Alu, RegistersStartAtZeroExceptArguments) {
  // r3..r9 are 0 at entry; r1 and r2 are the arguments; r10 points at the stack.
  Prog p;
  p << mov(0, 0);
  for (uint8_t r = 3; r <= 9; ++r) p << I(Op::Or64X, 0, r);
  p << exit_insn();
  EXPECT_EQ(run_r0(p.insns), 0u);

  auto exe = compile_ok((Prog{} << movr(0, 2) << I(Op::Add64X, 0, 1) << exit_insn()).insns);
  RunContext rc;
  EXPECT_EQ(exe->run(rc, 40, 2), 42u);
}

}  // namespace
}  // namespace bpfbox::vm::test
