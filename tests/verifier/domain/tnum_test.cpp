// Tnums: each operation contains every concrete result of members of its operands, and matches
// the kernel's tnum.c on known examples.
#include <gtest/gtest.h>

#include "domain_gen.hpp"
#include "verifier/tnum.hpp"

namespace bpfbox::verifier::test {
namespace {

TEST(Tnum, RangeIsTheSmallestCoveringTnum) {
  EXPECT_EQ(Tnum::range(0, 255), (Tnum{0, 0xff}));
  EXPECT_EQ(Tnum::range(16, 31), (Tnum{16, 0xf}));
  EXPECT_EQ(Tnum::range(16, 32), (Tnum{0, 0x3f}));
  EXPECT_EQ(Tnum::range(5, 5), Tnum::constant(5));
  EXPECT_EQ(Tnum::range(0, UINT64_MAX), Tnum::unknown());
  EXPECT_EQ(Tnum::range(1ull << 63, UINT64_MAX), (Tnum{1ull << 63, (1ull << 63) - 1}));
  DomainGen g(3);
  for (int i = 0; i < 100000; ++i) {
    uint64_t lo = g.interesting(), hi = g.interesting();
    if (lo > hi) std::swap(lo, hi);
    const Tnum t = Tnum::range(lo, hi);
    EXPECT_TRUE(t.contains(lo) && t.contains(hi) && t.contains(lo + (hi - lo) / 2));
  }
}

TEST(Tnum, KnownResultsOfTheKernelOperations) {
  const Tnum x{0b1000, 0b0011};  // 8..11
  EXPECT_EQ(tnum_add(x, Tnum::constant(1)), (Tnum{0b1000, 0b0111}));
  EXPECT_EQ(tnum_and(Tnum::unknown(), Tnum::constant(0xff)), (Tnum{0, 0xff}));
  EXPECT_EQ(tnum_or(Tnum{0, 0xf0}, Tnum::constant(1)), (Tnum{1, 0xf0}));
  EXPECT_EQ(tnum_xor(Tnum::constant(0xf), Tnum{0, 0x3}), (Tnum{0xc, 0x3}));
  EXPECT_EQ(tnum_lshift(Tnum{1, 2}, 4), (Tnum{0x10, 0x20}));
  EXPECT_EQ(tnum_rshift(Tnum{0x10, 0x20}, 4), (Tnum{1, 2}));
  EXPECT_EQ(tnum_arshift(Tnum{0, 0x80000000}, 4, 32), (Tnum{0, 0xf8000000}));
  EXPECT_EQ(tnum_arshift(Tnum{1ull << 63, 0}, 63, 64), Tnum::constant(UINT64_MAX));
  EXPECT_EQ(tnum_neg(Tnum::constant(1)), Tnum::constant(UINT64_MAX));
  EXPECT_EQ(tnum_mul(Tnum::constant(6), Tnum::constant(7)), Tnum::constant(42));
  EXPECT_EQ(tnum_mul(Tnum{0, 1}, Tnum::constant(6)), (Tnum{0, 6}));  // 0 or 6
  EXPECT_EQ(tnum_intersect(Tnum{0, 0xff}, Tnum{0x10, 0xf00f}), (Tnum{0x10, 0xf}));
  EXPECT_EQ(tnum_union(Tnum::constant(4), Tnum::constant(6)), (Tnum{4, 2}));
  EXPECT_EQ(tnum_cast(Tnum{0x1234, 0xff0000}, 2), Tnum::constant(0x1234));
  EXPECT_EQ(tnum_subreg(Tnum{0x100000001, 0}), Tnum::constant(1));
  EXPECT_EQ(tnum_clear_subreg(Tnum{0x100000001, 2}), Tnum::constant(0x100000000));
  EXPECT_EQ(tnum_const_subreg(Tnum::unknown(), 7), (Tnum{7, 0xffffffff00000000}));
  EXPECT_TRUE(tnum_is_aligned(Tnum{8, 0x30}, 8));
  EXPECT_FALSE(tnum_is_aligned(Tnum{8, 0x34}, 8));
  EXPECT_TRUE(tnum_is_aligned(Tnum{3, 0}, 0));
  EXPECT_TRUE(Tnum::unknown().includes(Tnum{5, 0xf0}));
  EXPECT_TRUE((Tnum{0, 0xff}).includes(Tnum{5, 0xf0}));
  EXPECT_FALSE((Tnum{0, 0xff}).includes(Tnum{5, 0xf00}));
  EXPECT_FALSE((Tnum{1, 0xf0}).includes(Tnum{0, 0xf0}));
}

TEST(Tnum, PrintsAsTheVerifierLog) {
  EXPECT_EQ((Tnum{0, 0xff}).to_string(), "(0x0; 0xff)");
  EXPECT_EQ(Tnum::constant(0).to_string(), "(0x0; 0x0)");
  EXPECT_EQ((Tnum{0x10, 0}).to_string(), "(0x10; 0x0)");
  EXPECT_EQ(Tnum::unknown().to_string(), "(0x0; 0xffffffffffffffff)");
}

// Every binary operation, on random members of random tnums.
TEST(Tnum, OperationsContainEveryConcreteResult) {
  DomainGen g(4);
  for (int i = 0; i < 100000; ++i) {
    const Tnum a = g.tnum(), b = g.tnum();
    const uint8_t sh = uint8_t(g.below(64)), sh32 = uint8_t(g.below(32));
    const uint8_t size = uint8_t(1) << g.below(4);
    const Tnum add = tnum_add(a, b), sub = tnum_sub(a, b), mul = tnum_mul(a, b),
               and_ = tnum_and(a, b), or_ = tnum_or(a, b), xor_ = tnum_xor(a, b), neg = tnum_neg(a),
               lsh = tnum_lshift(a, sh), rsh = tnum_rshift(a, sh), arsh = tnum_arshift(a, sh, 64),
               arsh32 = tnum_arshift(a, sh32, 32), uni = tnum_union(a, b),
               cast = tnum_cast(a, size), sub32 = tnum_subreg(a), clr = tnum_clear_subreg(a),
               with = tnum_with_subreg(a, b);
    for (int m = 0; m < 8; ++m) {
      const uint64_t x = g.member(a), y = g.member(b);
      ASSERT_TRUE(add.contains(x + y));
      ASSERT_TRUE(sub.contains(x - y));
      ASSERT_TRUE(mul.contains(x * y)) << a.to_string() << " * " << b.to_string();
      ASSERT_TRUE(and_.contains(x & y));
      ASSERT_TRUE(or_.contains(x | y));
      ASSERT_TRUE(xor_.contains(x ^ y));
      ASSERT_TRUE(neg.contains(0 - x));
      ASSERT_TRUE(lsh.contains(x << sh));
      ASSERT_TRUE(rsh.contains(x >> sh));
      ASSERT_TRUE(arsh.contains(uint64_t(int64_t(x) >> sh)));
      ASSERT_TRUE(arsh32.contains(uint32_t(int32_t(uint32_t(x)) >> sh32)));
      ASSERT_TRUE(uni.contains(x) && uni.contains(y));
      ASSERT_TRUE(cast.contains(size == 8 ? x : x & ((1ull << (size * 8)) - 1)));
      ASSERT_TRUE(sub32.contains(uint32_t(x)));
      ASSERT_TRUE(clr.contains(x & ~0xffffffffull));
      ASSERT_TRUE(with.contains((x & ~0xffffffffull) | uint32_t(y)));
      // The meet holds what both hold; includes() means membership carries over.
      if (b.contains(x)) {
        ASSERT_TRUE(tnum_intersect(a, b).contains(x));
      }
      if (a.includes(b)) {
        ASSERT_TRUE(a.contains(y));
      }
    }
  }
}

}  // namespace
}  // namespace bpfbox::verifier::test
