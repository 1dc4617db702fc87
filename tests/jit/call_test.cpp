// Helper calls (the SysV convention, the run context in r9, a helper's fault ending the run),
// bpf-to-bpf calls (r6..r9 preserved, a fresh frame each, 8 frames at most), callx.
#include <gtest/gtest.h>

#include <cstring>

#include "jit_harness.hpp"
#include "vm/jit/code_memory.hpp"

namespace bpfbox::vm::jit::test {
namespace {

Insn call(int32_t id) {
  return I(Op::Call, 0, 0, 0, id);
}
Insn call_local(int32_t rel) {
  return I(Op::CallLocal, 0, 0, 0, rel);
}

TEST(JitCall, HelperArgumentsAndResult) {
  Prog p;
  p << I(Op::Mov64K, 6, 0, 0, 1000);
  for (uint8_t r = 1; r <= 5; ++r) p << I(Op::Mov64K, r, 0, 0, r * 11);
  p << call(1) << I(Op::Add64X, 6, 0);
  // r1..r5 are undefined after a call (the kernel's verifier refuses reading them): set again.
  p << I(Op::Mov64X, 1, 6);
  for (uint8_t r = 2; r <= 5; ++r) p << I(Op::Mov64K, r, 0, 0, -r);
  p << call(2) << I(Op::Add64X, 0, 6);
  for (uint8_t r = 1; r <= 5; ++r) p << I(Op::Mov64K, r, 0, 0, r);
  p << call(6) << I(Op::Add64X, 0, 6);
  p.exit();
  const std::vector<uint8_t> pkt(17);
  EXPECT_SAME_AS_INTERP(p.insns, {}, pkt.data(), 17);
}

TEST(JitCall, HelperFaultEndsTheRun) {
  Prog p;
  p << I(Op::StDW, 1, 0, 0, 1) << I(Op::Mov64X, 6, 1) << I(Op::Mov64K, 1, 0, 0, 1) << call(3);
  p << I(Op::StDW, 6, 0, 8, 2) << I(Op::Mov64K, 0, 0, 0, 5);
  p.exit();
  EXPECT_SAME_AS_INTERP(p.insns, std::vector<uint8_t>(16));
}

// As the kernel's JIT: a helper is one `call rel32` to its code (the code is placed near the
// library), not a load of its address and an indirect call; far code falls back to the latter.
TEST(JitCall, HelpersAreCalledDirectly) {
  Prog p;
  p << I(Op::Mov64K, 1, 0, 0, 41) << call(2);
  p.exit();
  const uint64_t fn = reinterpret_cast<uint64_t>(test_helpers().get(2)->fn);
  auto count = [&](const Executable& e, bool direct) {
    const NativeLayout n = e.native_layout();
    int found = 0;
    for (size_t i = 0; i + 5 <= n.size; ++i) {
      if (direct && n.code[i] == 0xE8) {
        int32_t rel;
        std::memcpy(&rel, n.code + i + 1, 4);
        found += reinterpret_cast<uint64_t>(n.code) + i + 5 + static_cast<int64_t>(rel) == fn;
      } else if (!direct && i + 8 <= n.size) {
        uint64_t v;
        std::memcpy(&v, n.code + i, 8);
        found += v == fn;
      }
    }
    return found;
  };
  x86_64::Tuning far = host_tuning();
  far.direct_calls = false;
  auto d = jit::compile(p.insns, test_helpers(), {}, host_tuning());
  auto f = jit::compile(p.insns, test_helpers(), {}, far);
  ASSERT_TRUE(d && f);
  if (x86_64::Tuning{}.direct_calls && CodeMemory::near()) {
    EXPECT_EQ(count(**d, true), 1);
    EXPECT_EQ(count(**d, false), 0);
  }
  EXPECT_EQ(count(**f, true), 0);
  EXPECT_EQ(count(**f, false), 1);
  RunContext rc1, rc2;
  EXPECT_EQ((*d)->run(rc1, 0), 42u);
  EXPECT_EQ((*f)->run(rc2, 0), 42u);
}

// bpf_get_smp_processor_id, as the kernel's x86-64 JIT: a load of the run's CPU in place of the
// call when the table's entry says the helper is that (bpfbox's own); an embedder's helper under
// the same id without it is called.
TEST(JitCall, SmpProcessorIdIsTheRunsCpuInline) {
  static int calls;
  const HelperFn cpu = [](uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, RunContext* rc) {
    ++calls;
    return uint64_t{rc->cpu};
  };
  Prog p;  // r0 = cpu() << 8 | cpu(), r6 kept across both
  p << I(Op::Mov64K, 6, 0, 0, 0) << call(BPF_FUNC_get_smp_processor_id) << I(Op::Mov64X, 6, 0)
    << I(Op::Lsh64K, 6, 0, 0, 8) << call(BPF_FUNC_get_smp_processor_id) << I(Op::Or64X, 0, 6);
  p.exit();
  for (HelperInline as : {HelperInline::RunCpu, HelperInline::None}) {
    HelperTable t;
    t.set(BPF_FUNC_get_smp_processor_id, "bpf_get_smp_processor_id", cpu, as);
    for (EngineKind e : {EngineKind::Interp, EngineKind::Jit}) {
      auto exe = vm::compile(e, p.insns, t, {});
      ASSERT_TRUE(exe) << exe.status().message();
      for (uint32_t c : {0u, 1u, 37u}) {
        RunContext rc;
        rc.cpu = c;
        calls = 0;
        EXPECT_EQ((*exe)->run(rc, 0), (c << 8) | c);
        EXPECT_EQ(calls, e == EngineKind::Jit && as == HelperInline::RunCpu ? 0 : 2);
      }
    }
  }
}

TEST(JitCall, UnknownHelperIsRefusedAsTheInterpreterDoes) {
  Prog p;
  p << call(999) << I(Op::Exit);
  EXPECT_SAME_AS_INTERP(p.insns);
  auto exe = jit::compile(p.insns, test_helpers(), {});
  ASSERT_FALSE(exe);
  EXPECT_EQ(exe.status().message(), "invalid func unknown#999 (insn 0)");
}

TEST(JitCall, LocalCallPreservesR6ToR9AndHasItsOwnStack) {
  Prog p;
  for (uint8_t r = 1; r <= 9; ++r) p << I(Op::Mov64K, r, 0, 0, r);
  p << I(Op::StDW, 10, 0, -8, 1234);
  const size_t at = p.insns.size();
  p << call_local(0);  // -> f, patched below
  p << I(Op::LdxDW, 1, 10, -8) << I(Op::Add64X, 0, 1);
  for (uint8_t r = 6; r <= 9; ++r) p << I(Op::Mul64X, 0, r);
  p.exit();
  // f: clobber r6..r9, use its own stack, return r1+..+r5 plus its frame's slot
  const size_t f = p.insns.size();
  p << I(Op::StDW, 10, 0, -8, 99);
  for (uint8_t r = 6; r <= 9; ++r) p << I(Op::Mov64K, r, 0, 0, 0);
  p << I(Op::Mov64X, 0, 1);
  for (uint8_t r = 2; r <= 5; ++r) p << I(Op::Add64X, 0, r);
  p << I(Op::LdxDW, 6, 10, -8) << I(Op::Add64X, 0, 6);
  p.exit();
  p.insns[at].imm = static_cast<int32_t>(f - at - 1);
  EXPECT_SAME_AS_INTERP(p.insns);
}

// Each frame calls the next until the depth limit: a CallDepth fault at the same pc.
TEST(JitCall, DepthLimit) {
  for (int frames : {7, 8, 9}) {
    Prog p;
    p << I(Op::Mov64K, 1, 0, 0, frames - 1) << I(Op::Mov64K, 0, 0, 0, 0);
    p << call_local(1) << I(Op::Exit);
    // f(r1): if r1 == 0 return 1; r6 = r1; r1 -= 1; r0 = f(r1) + r6
    p << I(Op::Jne64K, 1, 0, 2, 0) << I(Op::Mov64K, 0, 0, 0, 1) << I(Op::Exit);
    p << I(Op::Mov64X, 6, 1) << I(Op::Sub64K, 1, 0, 0, 1) << call_local(-6);
    p << I(Op::Add64X, 0, 6) << I(Op::StxDW, 10, 0, -8) << I(Op::LdxDW, 0, 10, -8) << I(Op::Exit);
    EXPECT_SAME_AS_INTERP(p.insns);
  }
}

// The same limit when the call graph proves the depth (no run-time check but the last call's):
// 7 and 8 frames run, 9 faults at the deepest call; r8, written only two calls down, survives.
TEST(JitCall, DepthLimitOfAChainWithoutRecursion) {
  for (int frames : {3, 7, 8, 9}) EXPECT_SAME_AS_INTERP(call_chain(frames));
}

TEST(JitCall, RecursionIntoMainIsAFunctionToo) {
  // pc 0 is both the entry and a call target: its exit must know which frame it is in.
  Prog p;
  p << I(Op::Jeq64K, 1, 0, 4, 0);                 // 0: r1 == 0 -> pc 5
  p << I(Op::Mov64K, 1, 0, 0, 0);                 // 1
  p << call_local(-3);                            // 2: call pc 0
  p << I(Op::Add64K, 0, 0, 0, 1) << I(Op::Exit);  // 3, 4
  p << I(Op::Mov64K, 0, 0, 0, 7) << I(Op::Exit);  // 5, 6
  EXPECT_SAME_AS_INTERP(p.insns, std::vector<uint8_t>(8));
}

TEST(JitCall, CallxHelperFunctionAndBadTarget) {
  {
    Prog p;  // a helper id in a register
    p << I(Op::Mov64K, 1, 0, 0, 41) << I(Op::Mov64K, 7, 0, 0, 2) << I(Op::Callx, 7) << I(Op::Exit);
    EXPECT_SAME_AS_INTERP(p.insns);
  }
  {
    Prog p;  // a BPF_PSEUDO_FUNC value
    p.lddw(8, 0, BPF_PSEUDO_FUNC);
    p.insns[0].imm = 6;  // the function at pc 7
    p << I(Op::Mov64K, 1, 0, 0, 3) << I(Op::Mov64K, 6, 0, 0, 100) << I(Op::Callx, 8)
      << I(Op::Add64X, 0, 6) << I(Op::Exit);
    p << I(Op::Mov64X, 0, 1) << I(Op::Mov64K, 6, 0, 0, 0) << I(Op::Mul64K, 0, 0, 0, 3)
      << I(Op::Exit);
    EXPECT_SAME_AS_INTERP(p.insns);
  }
  for (int64_t bad : {int64_t{4}, int64_t{1000}, int64_t{-1}}) {
    Prog p;
    p.lddw(3, static_cast<uint64_t>(bad));
    p << I(Op::Callx, 3) << I(Op::Mov64K, 0, 0, 0, 1) << I(Op::Exit);
    EXPECT_SAME_AS_INTERP(p.insns);
  }
}

}  // namespace
}  // namespace bpfbox::vm::jit::test

namespace bpfbox::vm::jit::test {
namespace {

TEST(JitRefusals, WhatTheJitDoesNotTake) {
  Prog r10;
  r10 << I(Op::Mov64K, 10, 0, 0, 0) << I(Op::Exit);
  auto a = jit::compile(r10.insns, test_helpers(), {});
  ASSERT_FALSE(a);
  EXPECT_EQ(a.status().err(), EINVAL);
  EXPECT_EQ(a.status().message(), "frame pointer is read only (insn 0)");

  Prog kfunc;
  kfunc << I(Op::CallKfunc, 0, 0, 0, 7) << I(Op::Exit);
  EXPECT_SAME_AS_INTERP(kfunc.insns);  // both refuse, with the same message
  auto b = jit::compile(kfunc.insns, test_helpers(), {});
  ASSERT_FALSE(b);
  EXPECT_EQ(b.status().err(), EINVAL);

  Prog map;
  map.lddw(1, 5, BPF_PSEUDO_MAP_FD);
  map << I(Op::Exit);
  EXPECT_SAME_AS_INTERP(map.insns);
  EXPECT_FALSE(jit::compile(map.insns, test_helpers(), {}));
}

TEST(JitEngine, ReachableThroughVmCompile) {
  Prog p;
  p << I(Op::Mov64K, 0, 0, 0, 42) << I(Op::Exit);
  auto exe = vm::compile(EngineKind::Jit, p.insns, test_helpers());
  ASSERT_TRUE(exe) << exe.status().message();
  EXPECT_STREQ((*exe)->engine_name(), "jit");
  RunContext rc;
  EXPECT_EQ((*exe)->run(rc, 0), 42u);
  EXPECT_NE((*exe)->native_layout().code, nullptr);
}

}  // namespace
}  // namespace bpfbox::vm::jit::test
