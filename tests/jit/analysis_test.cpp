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

x86_64::ProgramFacts facts_of(const std::vector<Insn>& insns) {
  auto d = isa::decode_program(insns);
  EXPECT_TRUE(d) << d.status().message();
  auto f = x86_64::analyze(*d, false, false);
  EXPECT_TRUE(f) << f.status().message();
  return *f;
}

TEST(JitAnalysis, CallDepthIsProvedFromTheCallGraph) {
  // Up to 8 frames without recursion, no call can exceed the limit: no run-time check. With 9,
  // only the last function's call (from frame 8) keeps it.
  for (int frames : {2, 8, 9}) {
    SCOPED_TRACE(frames);
    const auto f = facts_of(call_chain(frames));
    EXPECT_TRUE(f.call_depth_ok[4]);
    for (int i = 1; i + 1 < frames; ++i)
      EXPECT_EQ(f.call_depth_ok[static_cast<size_t>(10 + 3 * (i - 1))], i + 1 < 8) << i;
  }
  // Recursion (a call back into pc 0) and a callback a helper may start at any depth: checked.
  Prog rec;
  rec << I(Op::Jeq64K, 1, 0, 2, 0) << I(Op::Mov64K, 1, 0, 0, 0) << I(Op::CallLocal, 0, 0, 0, -3)
      << I(Op::Exit);
  EXPECT_FALSE(facts_of(rec.insns).call_depth_ok[2]);
  Prog cb;  // main: r2 = cb; call 1; exit. cb (pc 5): call g (pc 7); exit. g: exit
  cb.lddw(2, 2, BPF_PSEUDO_FUNC);
  cb << I(Op::Call, 0, 0, 0, 1) << I(Op::Exit) << I(Op::CallLocal, 0, 0, 0, 1) << I(Op::Exit)
     << I(Op::Exit);
  EXPECT_FALSE(facts_of(cb.insns).call_depth_ok[5]);
}

TEST(JitAnalysis, ACallKeepsWhatTheCalleeAndItsCalleesWrite) {
  // Only the last function writes r8: every call of the chain keeps r8, and nothing else.
  const auto f = facts_of(call_chain(4));
  for (size_t entry : {10, 13, 16}) EXPECT_EQ(f.callee_writes[entry], bit(8)) << entry;
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
