// Checked mode and the instruction budget keep the interpreter's guarantees in the LLVM tier: the
// same fault (kind, errno, pc, address, size, access) at the same instruction, the same
// instruction count, the side effects before the fault and no more.
#include <gtest/gtest.h>

#include <cerrno>

#include "llvm_harness.hpp"

namespace bpfbox::vm::llvm_tier::test {
namespace {

using bpfbox::test::I;
using bpfbox::test::Prog;
using isa::Op;

TEST(LlvmChecked, OutOfBoundsLoadsStoresAndAtomics) {
  for (int16_t off :
       {int16_t{-1}, int16_t{0}, int16_t{12}, int16_t{13}, int16_t{16}, int16_t{-600}}) {
    for (Op op : {Op::LdxW, Op::LdxsH, Op::StDW, Op::StxB, Op::Atomic64FetchAdd,
                  Op::Atomic32Cmpxchg, Op::LoadAcqDW, Op::StoreRelW}) {
      const isa::OpInfo& o = isa::info(op);
      const bool load =
          o.kind == isa::Kind::Ldx || o.kind == isa::Kind::Ldxs || o.kind == isa::Kind::LoadAcq;
      Prog p;
      p << I(Op::StW, 1, 0, 0, 7) << I(Op::Mov64K, 2, 0, 0, 3) << I(Op::Mov64K, 0, 0, 0, 1);
      p << (load ? I(op, 3, 1, off, o.discr == isa::Discr::Imm ? o.discr_value : 0)
                 : I(op, 1, 2, off, o.discr == isa::Discr::Imm ? o.discr_value : 5));
      p << I(Op::StW, 1, 0, 4, 9) << I(Op::Exit);
      EXPECT_LLVM_SAME_AS_INTERP(p.insns, std::vector<uint8_t>(16), nullptr, 0, 1u << 30, true);
    }
  }
}

TEST(LlvmChecked, StackEdgesAndOtherFrames) {
  for (int16_t off : {int16_t{-8}, int16_t{-512}, int16_t{-520}, int16_t{-4096}, int16_t{-4097},
                      int16_t{0}, int16_t{-1}, int16_t{-4090}}) {
    Prog p;
    p << I(Op::StDW, 10, 0, off, 1) << I(Op::LdxDW, 0, 10, off) << I(Op::Exit);
    EXPECT_LLVM_SAME_AS_INTERP(p.insns, {}, nullptr, 0, 1u << 30, true);
  }
  // A callee may touch its caller's frame (live) but not the frame below its own.
  for (int16_t off : {int16_t{8}, int16_t{504}, int16_t{-8}, int16_t{-520}}) {
    Prog p;
    p << I(Op::CallLocal, 0, 0, 0, 1) << I(Op::Exit);
    p << I(Op::StDW, 10, 0, off, 5) << I(Op::LdxDW, 0, 10, off) << I(Op::Exit);
    EXPECT_LLVM_SAME_AS_INTERP(p.insns, {}, nullptr, 0, 1u << 30, true);
  }
}

uint8_t g_read_only[32] = {1, 2, 3, 4};

TEST(LlvmChecked, ReadOnlyRegion) {
  Prog p;
  p.lddw(3, reinterpret_cast<uint64_t>(g_read_only));
  p << I(Op::LdxW, 0, 3, 0) << I(Op::StW, 3, 0, 4, 1) << I(Op::Exit);
  auto exe = llvm_tier::compile(p.insns, test_helpers(), {true, 0});
  ASSERT_TRUE(exe) << exe.status().message();
  RunContext rc;
  rc.add_region(g_read_only, sizeof g_read_only, kRead, "ro");
  EXPECT_EQ((*exe)->run(rc, 0), 0u);
  EXPECT_EQ(rc.fault.kind, FaultKind::ReadOnly);
  EXPECT_EQ(rc.fault.err, EACCES);
  EXPECT_EQ(rc.fault.pc, 3u);
  EXPECT_EQ(rc.fault.addr, reinterpret_cast<uint64_t>(g_read_only) + 4);
  EXPECT_EQ(rc.fault.size, 4u);
  EXPECT_EQ(rc.fault.access, kWrite);
  EXPECT_EQ(g_read_only[4], 0);
}

TEST(LlvmChecked, FaultInsideACallUnwindsEveryFrameAndTheNextRunIsClean) {
  Prog p;
  p << I(Op::Mov64K, 6, 0, 0, 3) << I(Op::CallLocal, 0, 0, 0, 2) << I(Op::Mov64K, 0, 0, 0, 9)
    << I(Op::Exit);
  p << I(Op::CallLocal, 0, 0, 0, 1) << I(Op::Exit);
  p << I(Op::StDW, 1, 0, 100, 1) << I(Op::Exit);
  EXPECT_LLVM_SAME_AS_INTERP(p.insns, std::vector<uint8_t>(16), nullptr, 0, 1u << 30, true);
  auto exe = llvm_tier::compile(p.insns, test_helpers(), {true, 0});
  ASSERT_TRUE(exe);
  for (int i = 0; i < 3; ++i) {
    std::vector<uint8_t> mem(128);
    RunContext rc;
    rc.add_region(mem.data(), mem.size(), kReadWrite, "mem");
    EXPECT_EQ((*exe)->run(rc, reinterpret_cast<uint64_t>(mem.data())), 9u);
    EXPECT_EQ(rc.fault.kind, FaultKind::None);
  }
}

TEST(LlvmChecked, EveryBudgetStopsAtTheInterpretersInstruction) {
  // A loop with a helper call and a bpf-to-bpf call inside: every budget from 1 up to past the
  // end stops at the same pc with the same count and the same side effects.
  Prog p;
  p << I(Op::Mov64K, 6, 0, 0, 3) << I(Op::Mov64X, 7, 1);                         // 0, 1
  p << I(Op::Mov64X, 1, 6) << I(Op::Call, 0, 0, 0, 2) << I(Op::StxDW, 7, 0, 0);  // 2, 3, 4
  p << I(Op::CallLocal, 0, 0, 0, 5);                                             // 5: f at 11
  p << I(Op::Sub64K, 6, 0, 0, 1) << I(Op::Jne64K, 6, 0, -6, 0);                  // 6, 7 -> 2
  p.lddw(0, 0x100000000ull) << I(Op::Exit);                                      // 8-9, 10
  p << I(Op::StB, 10, 0, -1, 1) << I(Op::Mov64K, 0, 0, 0, 1) << I(Op::Exit);     // f: 11-13
  for (uint64_t budget = 1; budget < 40; ++budget) {
    SCOPED_TRACE("budget " + std::to_string(budget));
    EXPECT_LLVM_SAME_AS_INTERP(p.insns, std::vector<uint8_t>(8), nullptr, 0, budget);
  }
}

}  // namespace
}  // namespace bpfbox::vm::llvm_tier::test
