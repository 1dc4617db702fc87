// Precision: exact bounds for known cases, the kernel's results where it tracks an operation and
// bpfbox's tighter ones where the kernel gives up (division, modulo, byte swaps).
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include "verifier/scalar.hpp"

namespace bpfbox::verifier::test {
namespace {

Scalar ranged(uint64_t lo, uint64_t hi) {
  Scalar s;
  s.umin = lo;
  s.umax = hi;
  s.sync();
  return s;
}

Scalar after(Scalar dst, uint8_t op, uint64_t k, bool alu64 = true, int16_t off = 0) {
  scalar_alu(dst, Scalar::constant(k), op, alu64, off);
  return dst;
}

TEST(ScalarPrecision, AndWithAMaskBoundsByTheMask) {
  const Scalar s = after(Scalar::unknown(), BPF_AND, 0xff);
  EXPECT_EQ(s.umin, 0u);
  EXPECT_EQ(s.umax, 255u);
  EXPECT_EQ(s.smin, 0);
  EXPECT_EQ(s.smax, 255);
  EXPECT_EQ(s.u32_max, 255u);
  EXPECT_EQ(s.var_off, (Tnum{0, 0xff}));
  EXPECT_EQ(s.to_string(), "smin=smin32=0,smax=umax=smax32=umax32=255,var_off=(0x0; 0xff)");
}

TEST(ScalarPrecision, CompareWithAConstantRefinesBothSides) {
  Scalar t = Scalar::unknown(), f = Scalar::unknown();
  Scalar kt = Scalar::constant(10), kf = kt;
  ASSERT_TRUE(scalar_refine(t, kt, BPF_JLT, false, true));
  ASSERT_TRUE(scalar_refine(f, kf, BPF_JLT, false, false));
  EXPECT_EQ(t.umax, 9u);
  EXPECT_EQ(t.smin, 0);
  EXPECT_EQ(t.var_off, (Tnum{0, 0xf}));
  EXPECT_EQ(t.to_string(), "smin=smin32=0,smax=umax=smax32=umax32=9,var_off=(0x0; 0xf)");
  EXPECT_EQ(f.umin, 10u);
  EXPECT_EQ(f.to_string(), "umin=10");
  // Within [0, 255] both ends are known on the false side (the kernel log's example).
  Scalar r = after(Scalar::unknown(), BPF_AND, 0xff), k = Scalar::constant(10);
  ASSERT_TRUE(scalar_refine(r, k, BPF_JLT, false, false));
  EXPECT_EQ(r.to_string(),
            "smin=umin=smin32=umin32=10,smax=umax=smax32=umax32=255,var_off=(0x0; 0xff)");
}

TEST(ScalarPrecision, NegOfARangeIsTheNegatedRange) {
  Scalar r = after(Scalar::unknown(), BPF_AND, 0xff), k = Scalar::constant(10);
  ASSERT_TRUE(scalar_refine(r, k, BPF_JLT, false, false));
  scalar_neg(r, true);
  EXPECT_EQ(r.to_string(),
            "smin=smin32=-255,smax=smax32=-10,umin=0xffffffffffffff01,umax=0xfffffffffffffff6,"
            "umin32=0xffffff01,umax32=0xfffffff6,var_off=(0xffffffffffffff00; 0xff)");
}

TEST(ScalarPrecision, ShiftsAndMultiplicationOfSmallRanges) {
  const Scalar byte = after(Scalar::unknown(), BPF_AND, 0xff);
  const Scalar x4 = after(byte, BPF_MUL, 4);
  EXPECT_EQ(x4.umax, 1020u);
  EXPECT_EQ(x4.var_off, (Tnum{0, 0x3fc}));
  const Scalar shl = after(byte, BPF_LSH, 8);
  EXPECT_EQ(shl.umax, 0xff00u);
  EXPECT_EQ(shl.to_string(), "smin=smin32=0,smax=umax=smax32=umax32=0xff00,var_off=(0x0; 0xff00)");
  const Scalar shr = after(byte, BPF_RSH, 4);
  EXPECT_EQ(shr.umax, 15u);
  // <<32 then s>>32 of a non-negative 32-bit value keeps it (the sign-extension idiom).
  const Scalar sx = after(after(byte, BPF_LSH, 32), BPF_ARSH, 32);
  EXPECT_EQ(sx.smin, 0);
  EXPECT_EQ(sx.smax, 255);
}

TEST(ScalarPrecision, AdditionOverflowHandling) {
  // [1, 10] + [UINT64_MAX - 5, UINT64_MAX]: some sums wrap, some not: unsigned unknown.
  Scalar a = ranged(1, 10);
  scalar_alu(a, ranged(UINT64_MAX - 5, UINT64_MAX), BPF_ADD, true);
  EXPECT_EQ(a.smin, -5);
  EXPECT_EQ(a.smax, 9);
  // Every sum wraps: the unsigned range wraps as a whole.
  Scalar b = ranged(10, 20);
  scalar_alu(b, Scalar::constant(UINT64_MAX - 4), BPF_ADD, true);
  EXPECT_EQ(b.umin, 5u);
  EXPECT_EQ(b.umax, 15u);
  // 32-bit: the result is zero-extended.
  Scalar c = after(Scalar::unknown(), BPF_ADD, 1, false);
  EXPECT_EQ(c.umax, UINT32_MAX);
  EXPECT_EQ(c.var_off, (Tnum{0, 0xffffffff}));
}

TEST(ScalarPrecision, DivisionAndModuloAreBounded) {
  const Scalar byte = after(Scalar::unknown(), BPF_AND, 0xff);
  const Scalar q = after(byte, BPF_DIV, 16);
  EXPECT_EQ(q.umax, 15u);
  EXPECT_EQ(after(Scalar::unknown(), BPF_MOD, 10).umax, 9u);
  EXPECT_EQ(after(byte, BPF_MOD, 1000).umax, 255u);  // the divisor above dst: dst unchanged
  EXPECT_EQ(after(Scalar::constant(100), BPF_DIV, 7), Scalar::constant(14));
  EXPECT_EQ(after(Scalar::constant(100), BPF_DIV, 0), Scalar::constant(0));
  EXPECT_EQ(after(Scalar::constant(100), BPF_MOD, 0), Scalar::constant(100));
  const Scalar sq = after(Scalar::constant(uint64_t(-100)), BPF_DIV, 7, true, 1);
  EXPECT_EQ(sq, Scalar::constant(uint64_t(-14)));
  // A signed quotient of [-100, 100] by [2, 4] is within [-50, 50].
  Scalar s = Scalar::unknown();
  s.smin = -100;
  s.smax = 100;
  s.sync();
  Scalar d = ranged(2, 4);
  scalar_alu(s, d, BPF_DIV, true, 1);
  EXPECT_EQ(s.smin, -50);
  EXPECT_EQ(s.smax, 50);
}

TEST(ScalarPrecision, ByteSwapsMoveKnownBits) {
  Scalar s = after(Scalar::unknown(), BPF_AND, 0xff);
  scalar_endian(s, BPF_ALU | BPF_END | BPF_TO_BE, 16);
  EXPECT_EQ(s.var_off, (Tnum{0, 0xff00}));
  Scalar c = Scalar::constant(0x1122334455667788);
  scalar_endian(c, BPF_ALU64 | BPF_END, 32);
  EXPECT_EQ(c, Scalar::constant(0x88776655));
  Scalar le = Scalar::constant(0x1122334455667788);
  scalar_endian(le, BPF_ALU | BPF_END | BPF_TO_LE, 16);
  EXPECT_EQ(le, Scalar::constant(0x7788));
}

TEST(ScalarPrecision, SignExtension) {
  // movsx of [0, 255] from 8 bits straddles the sign: the s8 range.
  Scalar s = after(Scalar::unknown(), BPF_AND, 0xff);
  scalar_alu(s, Scalar(s), BPF_MOV, true, 8);
  EXPECT_EQ(s.smin, -128);
  EXPECT_EQ(s.smax, 127);
  EXPECT_EQ(s.umax, UINT64_MAX);
  // movsx of [0, 100] keeps it.
  Scalar t = ranged(0, 100), u = t;
  scalar_alu(u, t, BPF_MOV, true, 8);
  EXPECT_EQ(u.umax, 100u);
  EXPECT_EQ(u.smin, 0);
  Scalar neg = Scalar::constant(0xff);
  neg.sext(8);
  EXPECT_EQ(neg, Scalar::constant(UINT64_MAX));
  Scalar w = Scalar::constant(0x80);
  scalar_alu(w, Scalar::constant(0x80), BPF_MOV, false, 8);
  EXPECT_EQ(w, Scalar::constant(0xffffff80));
}

TEST(ScalarPrecision, BranchDecisions) {
  EXPECT_EQ(scalar_branch_taken(ranged(0, 9), Scalar::constant(10), BPF_JLT, false), 1);
  EXPECT_EQ(scalar_branch_taken(ranged(10, 20), Scalar::constant(5), BPF_JEQ, false), 0);
  EXPECT_EQ(scalar_branch_taken(ranged(10, 20), Scalar::constant(5), BPF_JNE, false), 1);
  EXPECT_EQ(scalar_branch_taken(ranged(0, 20), Scalar::constant(5), BPF_JEQ, false), -1);
  EXPECT_EQ(scalar_branch_taken(ranged(0, 20), Scalar::constant(20), BPF_JLE, false), 1);
  EXPECT_EQ(scalar_branch_taken(ranged(0, 20), Scalar::constant(0), BPF_JSGE, false), 1);
  // 32-bit: only the low halves compare.
  EXPECT_EQ(scalar_branch_taken(Scalar::constant(0x100000003), Scalar::constant(3), BPF_JEQ, true),
            1);
  EXPECT_EQ(scalar_branch_taken(Scalar::constant(0x100000003), Scalar::constant(3), BPF_JEQ, false),
            0);
  // JSET: a known 1 under the mask, or no possible 1.
  const Scalar byte = after(Scalar::unknown(), BPF_AND, 0xff);
  EXPECT_EQ(scalar_branch_taken(byte, Scalar::constant(0x100), BPF_JSET, false), 0);
  EXPECT_EQ(scalar_branch_taken(after(byte, BPF_OR, 1), Scalar::constant(1), BPF_JSET, false), 1);
  EXPECT_EQ(scalar_branch_taken(byte, Scalar::constant(1), BPF_JSET, false), -1);
  // A decided comparison refines nothing; its impossible side is reported.
  Scalar a = ranged(0, 9), k = Scalar::constant(10);
  EXPECT_FALSE(scalar_refine(a, k, BPF_JLT, false, false));
  EXPECT_TRUE(scalar_refine(a, k, BPF_JLT, false, true));
  EXPECT_EQ(a, ranged(0, 9));
}

TEST(ScalarPrecision, EqualityIntersectsBothOperands) {
  Scalar a = ranged(0, 100), b = ranged(50, 200);
  ASSERT_TRUE(scalar_refine(a, b, BPF_JEQ, false, true));
  EXPECT_EQ(a.umin, 50u);
  EXPECT_EQ(a.umax, 100u);
  EXPECT_EQ(a, b);
  // JNE against an end of the range trims it.
  Scalar c = ranged(0, 100), k = Scalar::constant(100);
  ASSERT_TRUE(scalar_refine(c, k, BPF_JNE, false, true));
  EXPECT_EQ(c.umax, 99u);
  // JSET with one bit sets it; its negation clears the bits.
  Scalar d = Scalar::unknown(), bit = Scalar::constant(4);
  ASSERT_TRUE(scalar_refine(d, bit, BPF_JSET, false, true));
  EXPECT_EQ(d.var_off, (Tnum{4, ~uint64_t(4)}));
  Scalar e = after(Scalar::unknown(), BPF_AND, 0xff), mask = Scalar::constant(0xf0);
  ASSERT_TRUE(scalar_refine(e, mask, BPF_JSET, false, false));
  EXPECT_EQ(e.var_off, (Tnum{0, 0xf}));
  EXPECT_EQ(e.umax, 15u);
}

TEST(ScalarPrecision, WithinComparesRangesAndTnums) {
  EXPECT_TRUE(ranged(0, 10).within(ranged(0, 20)));
  EXPECT_FALSE(ranged(0, 20).within(ranged(0, 10)));
  EXPECT_TRUE(Scalar::constant(8).within(ranged(0, 15)));
  EXPECT_TRUE(ranged(0, 10).within(Scalar::unknown()));
  EXPECT_FALSE(Scalar::unknown().within(ranged(0, 10)));
  // Bounds within, but a bit known in the old tnum is unknown in the new one.
  const Scalar even = after(ranged(0, 20), BPF_AND, 0x1e);
  EXPECT_FALSE(ranged(0, 10).within(even));
  EXPECT_TRUE(after(ranged(0, 10), BPF_AND, 0xe).within(even));
}

TEST(ScalarPrecision, ImpossibleOutcomesAreReported) {
  // [0, 5] == [10, 20] cannot hold; the refinement says so.
  Scalar a = ranged(0, 5), b = ranged(10, 20);
  EXPECT_EQ(scalar_branch_taken(a, b, BPF_JEQ, false), 0);
  EXPECT_FALSE(scalar_refine(a, b, BPF_JEQ, false, true));
  Scalar empty;
  empty.umin = 5;
  empty.umax = 4;
  EXPECT_TRUE(empty.is_empty());
  EXPECT_FALSE(Scalar::unknown().is_empty());
}

}  // namespace
}  // namespace bpfbox::verifier::test
