// The JIT's whole-program facts: which registers are live at entry (the prologue zeroes only
// those), through branches, loops and calls.
#include <gtest/gtest.h>

#include "jit_harness.hpp"
#include "vm/jit/x86_64/analysis.hpp"

namespace bpfbox::vm::jit::test {
namespace {

uint16_t live_at_entry(const Prog& p) {
  auto d = isa::decode_program(p.insns);
  EXPECT_TRUE(d) << d.status().message();
  auto f = x86_64::analyze(*d, false, false);
  EXPECT_TRUE(f) << f.status().message();
  return f->read_before_written;
}

constexpr uint16_t bit(int r) {
  return static_cast<uint16_t>(1u << r);
}

TEST(JitAnalysis, RegistersWrittenOnEveryPathBeforeAReadAreNotLive) {
  // if r1 == 0 { r6 = 1; r0 = 2 } else { r6 = 3; r0 = 4 }; return r0 + r6
  Prog p;
  p << I(Op::Jeq64K, 1, 0, 3, 0) << I(Op::Mov64K, 6, 0, 0, 3) << I(Op::Mov64K, 0, 0, 0, 4)
    << I(Op::Ja, 0, 0, 2) << I(Op::Mov64K, 6, 0, 0, 1) << I(Op::Mov64K, 0, 0, 0, 2)
    << I(Op::Add64X, 0, 6) << I(Op::Exit);
  EXPECT_EQ(live_at_entry(p), bit(1));
}

TEST(JitAnalysis, AReadOnOnePathIsLive) {
  // if r1 == 0 goto out; r7 = 1; out: r0 = r7; exit   (r7 is read unwritten when r1 == 0)
  Prog p;
  p << I(Op::Jeq64K, 1, 0, 1, 0) << I(Op::Mov64K, 7, 0, 0, 1) << I(Op::Mov64X, 0, 7) << I(Op::Exit);
  EXPECT_EQ(live_at_entry(p), bit(1) | bit(7));
}

TEST(JitAnalysis, LoopsAndExitAndCalls) {
  // r0 is read by exit when the loop body never writes it: live.
  Prog loop;
  loop << I(Op::Mov64K, 2, 0, 0, 10) << I(Op::Sub64K, 2, 0, 0, 1) << I(Op::Jne64K, 2, 0, -2, 0)
       << I(Op::Exit);
  EXPECT_EQ(live_at_entry(loop), bit(0));
  // A helper reads r1..r5; a local call may read anything in its callee.
  Prog helper;
  helper << I(Op::Mov64K, 1, 0, 0, 1) << I(Op::Call, 0, 0, 0, 1) << I(Op::Exit);
  EXPECT_EQ(live_at_entry(helper), bit(2) | bit(3) | bit(4) | bit(5));
  Prog local;
  local << I(Op::Mov64K, 0, 0, 0, 0) << I(Op::CallLocal, 0, 1, 0, 1) << I(Op::Exit)
        << I(Op::Mov64X, 0, 9) << I(Op::Exit);
  EXPECT_EQ(live_at_entry(local), 0x3ff & ~bit(0));
}

TEST(JitAnalysis, UnwrittenRegistersStillReadAsZero) {
  // The branchy programs above, run: both engines give the interpreter's zeros.
  Prog p;
  p << I(Op::Jeq64K, 1, 0, 1, 0) << I(Op::Mov64K, 7, 0, 0, 1) << I(Op::Mov64X, 0, 7)
    << I(Op::Add64X, 0, 8) << I(Op::Exit);
  EXPECT_SAME_AS_INTERP(p.insns);
  EXPECT_SAME_AS_INTERP(p.insns, std::vector<uint8_t>(8));
}

}  // namespace
}  // namespace bpfbox::vm::jit::test
