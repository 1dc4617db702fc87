// Scalar::to_string against the kernel's print_scalar_ranges rules, on hand-built bounds (the
// kernel itself is the oracle in scalar_kernel_log_test.cpp).
#include <gtest/gtest.h>

#include "verifier/scalar.hpp"

namespace bpfbox::verifier::test {
namespace {

TEST(ScalarFormat, ConstantsPrintAsTheirValue) {
  EXPECT_EQ(Scalar::constant(0).to_string(), "0");
  EXPECT_EQ(Scalar::constant(uint64_t(-1)).to_string(), "-1");
  EXPECT_EQ(Scalar::constant(32767).to_string(), "32767");
  EXPECT_EQ(Scalar::constant(32768).to_string(), "0x8000");
  EXPECT_EQ(Scalar::constant(uint64_t(-32768)).to_string(), "-32768");
  EXPECT_EQ(Scalar::constant(uint64_t(-32769)).to_string(), "0xffffffffffff7fff");
}

TEST(ScalarFormat, UnknownPrintsNothing) {
  EXPECT_EQ(Scalar::unknown().to_string(), "");
}

TEST(ScalarFormat, ZeroExtended32BitValue) {
  Scalar s = Scalar::unknown();
  s.zext32();
  EXPECT_EQ(s.to_string(), "smin=0,smax=umax=0xffffffff,var_off=(0x0; 0xffffffff)");
}

TEST(ScalarFormat, SameValuesMergeOnlyWithTheSameSign) {
  Scalar s = Scalar::unknown();
  s.smin = -5;
  s.smax = 5;
  s.sync();
  EXPECT_EQ(s.to_string(), "smin=smin32=-5,smax=smax32=5");
  // umax 0xffff...fb and smin -5 are one bit pattern, but never merged across signs.
  Scalar n;
  n.smin = -5;
  n.smax = -1;
  n.umin = uint64_t(-5);
  n.umax = UINT64_MAX;
  n.s32_min = -5;
  n.s32_max = -1;
  n.u32_min = uint32_t(-5);
  n.u32_max = UINT32_MAX;
  n.var_off = {~uint64_t(7), 7};
  EXPECT_EQ(n.to_string(),
            "smin=smin32=-5,smax=smax32=-1,umin=0xfffffffffffffffb,umin32=0xfffffffb,"
            "var_off=(0xfffffffffffffff8; 0x7)");
}

TEST(ScalarFormat, LargeSigned32BoundsPrintAsUnsignedHex) {
  Scalar s = Scalar::unknown();
  s.s32_min = -100000;
  s.s32_max = 100000;
  EXPECT_EQ(s.to_string(), "smin32=0xfffe7960,smax32=0x186a0");
}

}  // namespace
}  // namespace bpfbox::verifier::test
