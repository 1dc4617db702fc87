// The checked JIT keeps the interpreter's checked-mode guarantees: the same fault (kind, errno,
// pc, address, size, access) at the same instruction, the same instruction count under a budget,
// and the side effects before the fault, no more.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "jit_harness.hpp"

namespace bpfbox::vm::jit::test {
namespace {

TEST(JitChecked, OutOfBoundsLoadsStoresAndAtomics) {
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
      EXPECT_SAME_AS_INTERP(p.insns, std::vector<uint8_t>(16), nullptr, 0, 1u << 30, true);
    }
  }
}

TEST(JitChecked, StackEdgesAndOtherFrames) {
  for (int16_t off : {int16_t{-8}, int16_t{-512}, int16_t{-520}, int16_t{-4096}, int16_t{-4097},
                      int16_t{0}, int16_t{-1}, int16_t{-4090}}) {
    Prog p;
    p << I(Op::StDW, 10, 0, off, 1) << I(Op::LdxDW, 0, 10, off) << I(Op::Exit);
    EXPECT_SAME_AS_INTERP(p.insns, {}, nullptr, 0, 1u << 30, true);
  }
}

uint8_t g_read_only[32] = {1, 2, 3, 4};

TEST(JitChecked, ReadOnlyRegion) {
  // r3 points into a read-only region the harness does not know: test directly.
  Prog p;
  p.lddw(3, reinterpret_cast<uint64_t>(g_read_only));
  p << I(Op::LdxW, 0, 3, 0) << I(Op::StW, 3, 0, 4, 1) << I(Op::Exit);
  for (bool jit : {false, true}) {
    auto exe = jit ? jit::compile(p.insns, test_helpers(), {true, 0})
                   : vm::compile(EngineKind::Interp, p.insns, test_helpers(), {true, 0});
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
  }
}

TEST(JitChecked, FaultInsideACallUnwindsEveryFrame) {
  Prog p;
  p << I(Op::Mov64K, 6, 0, 0, 3) << I(Op::CallLocal, 0, 1, 0, 2) << I(Op::Mov64K, 0, 0, 0, 9)
    << I(Op::Exit);
  // f: call g; g: store out of bounds
  p << I(Op::CallLocal, 0, 1, 0, 1) << I(Op::Exit);
  p << I(Op::StDW, 1, 0, 100, 1) << I(Op::Exit);
  EXPECT_SAME_AS_INTERP(p.insns, std::vector<uint8_t>(16), nullptr, 0, 1u << 30, true);
  // The same executable runs again cleanly afterwards.
  auto exe = jit::compile(p.insns, test_helpers(), {true, 0});
  ASSERT_TRUE(exe);
  for (int i = 0; i < 3; ++i) {
    std::vector<uint8_t> mem(128);
    RunContext rc;
    rc.add_region(mem.data(), mem.size(), kReadWrite, "mem");
    EXPECT_EQ((*exe)->run(rc, reinterpret_cast<uint64_t>(mem.data())), 9u);
    EXPECT_EQ(rc.fault.kind, FaultKind::None);
  }
}

TEST(JitBudget, FaultsAtTheSameInstructionWithTheSameCount) {
  Prog p;
  p << I(Op::Mov64K, 0, 0, 0, 0) << I(Op::Mov64K, 1, 0, 0, 0);
  p.lddw(2, 5);
  p << I(Op::StxDW, 10, 2, -8);
  p << I(Op::Add64K, 0, 0, 0, 3) << I(Op::Add64K, 1, 0, 0, 1) << I(Op::StxDW, 10, 1, -16)
    << I(Op::Jlt64X, 1, 2, -4);
  p << I(Op::LdxDW, 0, 10, -16) << I(Op::Exit);
  for (uint64_t budget = 1; budget < 30; ++budget)
    EXPECT_SAME_AS_INTERP(p.insns, {}, nullptr, 0, budget);
}

TEST(JitBudget, BudgetsBeyond32Bits) {
  Prog p;
  p << I(Op::Mov64K, 0, 0, 0, 0) << I(Op::Mov64K, 1, 0, 0, 100);
  p << I(Op::Add64K, 0, 0, 0, 1) << I(Op::Sub64K, 1, 0, 0, 1) << I(Op::Jne64K, 1, 0, -3, 0);
  p.exit();
  for (uint64_t budget : {uint64_t{1} << 31, uint64_t{1} << 33, ~uint64_t{0}})
    EXPECT_SAME_AS_INTERP(p.insns, {}, nullptr, 0, budget);
}

TEST(JitBudget, CountsThroughCallsAndHelpers) {
  Prog p;
  p << I(Op::Mov64K, 1, 0, 0, 4) << I(Op::CallLocal, 0, 1, 0, 3) << I(Op::Mov64K, 1, 0, 0, 1)
    << I(Op::Call, 0, 0, 0, 2) << I(Op::Exit);
  p << I(Op::Mov64X, 0, 1) << I(Op::Add64K, 0, 0, 0, 1) << I(Op::Exit);
  for (uint64_t budget = 1; budget < 12; ++budget)
    EXPECT_SAME_AS_INTERP(p.insns, {}, nullptr, 0, budget);
}

TEST(JitBlinding, ImmediatesDoNotAppearInTheCode) {
  const int32_t secret = 0x5ecc3e7a;
  const uint64_t secret64 = 0x5ecc3e7a5ecc3e7aull;
  Prog p;
  p << I(Op::Mov64K, 0, 0, 0, secret) << I(Op::Add64K, 0, 0, 0, secret)
    << I(Op::Mov32K, 2, 0, 0, secret) << I(Op::Xor64X, 0, 2) << I(Op::Jeq64K, 0, 0, 1, secret)
    << I(Op::Mul32K, 0, 0, 0, secret) << I(Op::StW, 10, 0, -4, secret)
    << I(Op::Div64K, 0, 0, 0, secret) << I(Op::Lsh64K, 0, 0, 0, 7);
  p.lddw(3, secret64);
  p << I(Op::Add64X, 0, 3) << I(Op::Exit);
  auto find = [&](const Executable& e) {
    const NativeLayout n = e.native_layout();
    for (size_t i = 0; i + 4 <= n.size; ++i) {
      int32_t v;
      std::memcpy(&v, n.code + i, 4);
      if (v == secret) return true;
    }
    return false;
  };
  ExecOptions plain, blinded;
  blinded.blind_constants = true;
  auto a = jit::compile(p.insns, test_helpers(), plain);
  auto b = jit::compile(p.insns, test_helpers(), blinded);
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(find(**a));
  EXPECT_FALSE(find(**b));
  RunContext rc1, rc2;
  EXPECT_EQ((*a)->run(rc1, 0), (*b)->run(rc2, 0));
  EXPECT_SAME_AS_INTERP(p.insns);
  // As bpf_jit_harden, the keys are drawn afresh for every program: two compiles of the same
  // program differ and compute the same.
  auto c = jit::compile(p.insns, test_helpers(), blinded);
  ASSERT_TRUE(c);
  const NativeLayout nb = (*b)->native_layout(), nc = (*c)->native_layout();
  EXPECT_TRUE(nb.size != nc.size || std::memcmp(nb.code, nc.code, nb.size) != 0);
  EXPECT_FALSE(find(**c));
  RunContext rc3;
  EXPECT_EQ((*c)->run(rc3, 0), (*a)->run(rc1, 0));
}

// BPFBOX_JIT_HARDEN is net.core.bpf_jit_harden: 1 blinds unprivileged loads, 2 every load.
TEST(JitBlinding, HardenLevelFromTheEnvironment) {
  const char* old = std::getenv("BPFBOX_JIT_HARDEN");
  const std::string saved = old ? old : "";
  struct Case {
    const char* value;  // null: unset
    int level;
    bool unprivileged, privileged;
  };
  const Case cases[] = {{nullptr, 0, false, false}, {"0", 0, false, false}, {"1", 1, true, false},
                        {"2", 2, true, true},       {"3", 0, false, false}, {"", 0, false, false},
                        {"1x", 0, false, false}};
  for (const Case& c : cases) {
    if (c.value)
      setenv("BPFBOX_JIT_HARDEN", c.value, 1);
    else
      unsetenv("BPFBOX_JIT_HARDEN");
    const std::string what = c.value ? c.value : "(unset)";
    EXPECT_EQ(jit_harden_level(), c.level) << what;
    EXPECT_EQ(blind_constants_for(false), c.unprivileged) << what;
    EXPECT_EQ(blind_constants_for(true), c.privileged) << what;
  }
  if (old)
    setenv("BPFBOX_JIT_HARDEN", saved.c_str(), 1);
  else
    unsetenv("BPFBOX_JIT_HARDEN");
}

TEST(JitMemoryProtection, CodeIsNeverWritable) {
  Prog p;
  p << I(Op::Mov64K, 0, 0, 0, 1) << I(Op::Exit);
  auto exe = jit::compile(p.insns, test_helpers(), {});
  ASSERT_TRUE(exe);
  const uint64_t code = reinterpret_cast<uint64_t>((*exe)->native_layout().code);
  FILE* maps = std::fopen("/proc/self/maps", "r");
  ASSERT_NE(maps, nullptr);
  char line[512];
  bool found = false;
  while (std::fgets(line, sizeof line, maps)) {
    unsigned long lo, hi;
    char perms[8];
    if (std::sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3) continue;
    if (code >= lo && code < hi) {
      found = true;
      EXPECT_STREQ(perms, "r-xp");
    }
  }
  std::fclose(maps);
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace bpfbox::vm::jit::test
