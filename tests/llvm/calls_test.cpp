// Helper calls (resolved at compile time, a helper's fault ending the run), bpf-to-bpf calls as
// LLVM functions (r6..r9 preserved, a fresh 512-byte frame each, eight frames at most), callx of
// functions and helper ids, BPF_PSEUDO_FUNC values; and what the tier refuses.
#include <gtest/gtest.h>

#include <cerrno>

#include "helpers/protos.hpp"
#include "isa/disasm.hpp"
#include "llvm_harness.hpp"

namespace bpfbox::vm::llvm_tier::test {
namespace {

using bpfbox::test::I;
using bpfbox::test::Prog;
using isa::Op;

isa::Insn call(int32_t id) {
  return I(Op::Call, 0, 0, 0, id);
}
isa::Insn call_local(int32_t rel) {
  return I(Op::CallLocal, 0, 0, 0, rel);
}

TEST(LlvmCalls, HelperArgumentsResultAndCallSequence) {
  Prog p;
  p << I(Op::Mov64K, 6, 0, 0, 1000);
  for (uint8_t r = 1; r <= 5; ++r) p << I(Op::Mov64K, r, 0, 0, r * 11);
  p << call(1) << I(Op::Add64X, 6, 0);
  p << I(Op::Mov64X, 1, 6);
  for (uint8_t r = 2; r <= 5; ++r) p << I(Op::Mov64K, r, 0, 0, -r);
  p << call(2) << I(Op::Add64X, 0, 6);
  for (uint8_t r = 1; r <= 5; ++r) p << I(Op::Mov64K, r, 0, 0, r);
  p << call(6) << I(Op::Add64X, 0, 6);
  p.exit();
  const std::vector<uint8_t> pkt(17);
  EXPECT_LLVM_SAME_AS_INTERP(p.insns, {}, pkt.data(), 17);
}

TEST(LlvmCalls, HelperFaultEndsTheRun) {
  Prog p;
  p << I(Op::StDW, 1, 0, 0, 1) << I(Op::Mov64X, 6, 1) << I(Op::Mov64K, 1, 0, 0, 1) << call(3);
  p << I(Op::StDW, 6, 0, 8, 2) << I(Op::Mov64K, 0, 0, 0, 5);
  p.exit();
  EXPECT_LLVM_SAME_AS_INTERP(p.insns, std::vector<uint8_t>(16));
}

TEST(LlvmCalls, StackPointersReachHelpers) {
  // A helper reads and writes what the program keeps on its stack through a pointer: the stack
  // must be real memory at the call, not values LLVM keeps in registers.
  HelperTable h;
  h.set(1, "bump", [](uint64_t p, uint64_t, uint64_t, uint64_t, uint64_t, RunContext*) {
    uint64_t* slot = reinterpret_cast<uint64_t*>(p);
    return (*slot)++;
  });
  Prog p;
  p << I(Op::StDW, 10, 0, -8, 40) << I(Op::Mov64X, 1, 10) << I(Op::Add64K, 1, 0, 0, -8);
  p << I(Op::Call, 0, 0, 0, 1) << I(Op::LdxDW, 1, 10, -8) << I(Op::Mul64K, 1, 0, 0, 1000);
  p << I(Op::Add64X, 0, 1) << I(Op::Exit);
  for (int level : {2, 3}) {
    auto exe = llvm_tier::compile(p.insns, h, {}, Options{level});
    ASSERT_TRUE(exe) << exe.status().message();
    RunContext rc;
    EXPECT_EQ((*exe)->run(rc, 0), 41040u);
  }
}

TEST(LlvmCalls, UnknownHelperIsRefusedAsTheInterpreterDoes) {
  Prog p;
  p << call(999) << I(Op::Exit);
  EXPECT_LLVM_SAME_AS_INTERP(p.insns);
  auto exe = llvm_tier::compile(p.insns, test_helpers(), {});
  ASSERT_FALSE(exe);
  EXPECT_EQ(exe.status().err(), EINVAL);
  EXPECT_EQ(exe.status().message(), "invalid func unknown#999 (insn 0)");
}

TEST(LlvmCalls, WithoutATailCallLookupCall12IsAnOrdinaryHelper) {
  // bpf_tail_call is the engines' own instruction only when the embedder gave a lookup (the tail
  // calls themselves are tested with the JIT's, tests/jit/tail_call_test.cpp, in LLVM modes too).
  HelperTable h;
  h.set(12, "twelve",
        [](uint64_t a, uint64_t, uint64_t, uint64_t, uint64_t, RunContext*) { return a + 12; });
  Prog p;
  p << I(Op::Mov64K, 1, 0, 0, 30) << call(12) << I(Op::Exit);
  auto exe = llvm_tier::compile(p.insns, h, {});
  ASSERT_TRUE(exe) << exe.status().message();
  RunContext rc;
  EXPECT_EQ((*exe)->run(rc, 0), 42u);
}

TEST(LlvmCalls, LocalCallPreservesR6ToR9AndHasItsOwnStack) {
  Prog p;
  for (uint8_t r = 1; r <= 9; ++r) p << I(Op::Mov64K, r, 0, 0, r);
  p << I(Op::StDW, 10, 0, -8, 1234);
  const size_t at = p.insns.size();
  p << call_local(0);  // -> f, patched below
  p << I(Op::LdxDW, 1, 10, -8) << I(Op::Add64X, 0, 1);
  for (uint8_t r = 6; r <= 9; ++r) p << I(Op::Mul64X, 0, r);
  p.exit();
  const size_t f = p.insns.size();
  p << I(Op::StDW, 10, 0, -8, 99);
  for (uint8_t r = 6; r <= 9; ++r) p << I(Op::Mov64K, r, 0, 0, 0);
  p << I(Op::Mov64X, 0, 1);
  for (uint8_t r = 2; r <= 5; ++r) p << I(Op::Add64X, 0, r);
  p << I(Op::LdxDW, 6, 10, -8) << I(Op::Add64X, 0, 6);
  p.exit();
  p.insns[at].imm = static_cast<int32_t>(f - at - 1);
  EXPECT_LLVM_SAME_AS_INTERP(p.insns);
}

TEST(LlvmCalls, CalleeWritesTheCallersFrameThroughAPointer) {
  Prog p;  // main passes &slot to f, f stores through it
  p << I(Op::StDW, 10, 0, -8, 1) << I(Op::Mov64X, 1, 10) << I(Op::Add64K, 1, 0, 0, -8);
  p << call_local(2) << I(Op::LdxDW, 0, 10, -8) << I(Op::Exit);
  p << I(Op::StDW, 1, 0, 0, 77) << I(Op::Mov64K, 0, 0, 0, 0) << I(Op::Exit);
  EXPECT_LLVM_SAME_AS_INTERP(p.insns);
}

TEST(LlvmCalls, DepthLimit) {
  for (int frames : {7, 8, 9}) {
    Prog p;
    p << I(Op::Mov64K, 1, 0, 0, frames - 1) << I(Op::Mov64K, 0, 0, 0, 0);
    p << call_local(1) << I(Op::Exit);
    // f(r1): if r1 == 0 return 1; r6 = r1; r1 -= 1; r0 = f(r1) + r6
    p << I(Op::Jne64K, 1, 0, 2, 0) << I(Op::Mov64K, 0, 0, 0, 1) << I(Op::Exit);
    p << I(Op::Mov64X, 6, 1) << I(Op::Sub64K, 1, 0, 0, 1) << call_local(-6);
    p << I(Op::Add64X, 0, 6) << I(Op::StxDW, 10, 0, -8) << I(Op::LdxDW, 0, 10, -8) << I(Op::Exit);
    EXPECT_LLVM_SAME_AS_INTERP(p.insns);
  }
}

TEST(LlvmCalls, RecursionIntoMainIsAFunctionToo) {
  Prog p;
  p << I(Op::Jeq64K, 1, 0, 4, 0);                 // 0: r1 == 0 -> pc 5
  p << I(Op::Mov64K, 1, 0, 0, 0);                 // 1
  p << call_local(-3);                            // 2: call pc 0
  p << I(Op::Add64K, 0, 0, 0, 1) << I(Op::Exit);  // 3, 4
  p << I(Op::Mov64K, 0, 0, 0, 7) << I(Op::Exit);  // 5, 6
  EXPECT_LLVM_SAME_AS_INTERP(p.insns, std::vector<uint8_t>(8));
}

TEST(LlvmCalls, CallxHelperFunctionAndBadTarget) {
  {
    Prog p;  // a helper id in a register
    p << I(Op::Mov64K, 1, 0, 0, 41) << I(Op::Mov64K, 7, 0, 0, 2) << I(Op::Callx, 7) << I(Op::Exit);
    EXPECT_LLVM_SAME_AS_INTERP(p.insns);
  }
  {
    Prog p;  // a BPF_PSEUDO_FUNC value
    p.lddw(8, 0, BPF_PSEUDO_FUNC);
    p.insns[0].imm = 6;  // the function at pc 7
    p << I(Op::Mov64K, 1, 0, 0, 3) << I(Op::Mov64K, 6, 0, 0, 100) << I(Op::Callx, 8)
      << I(Op::Add64X, 0, 6) << I(Op::Exit);
    p << I(Op::Mov64X, 0, 1) << I(Op::Mov64K, 6, 0, 0, 0) << I(Op::Mul64K, 0, 0, 0, 3)
      << I(Op::Exit);
    EXPECT_LLVM_SAME_AS_INTERP(p.insns);
  }
  for (int64_t bad : {int64_t{4}, int64_t{1000}, int64_t{-1}}) {
    Prog p;
    p.lddw(3, static_cast<uint64_t>(bad));
    p << I(Op::Callx, 3) << I(Op::Mov64K, 0, 0, 0, 1) << I(Op::Exit);
    EXPECT_LLVM_SAME_AS_INTERP(p.insns);
  }
}

TEST(LlvmCalls, RefusesWhatTheInterpreterRefuses) {
  Prog r10;
  r10 << I(Op::Mov64K, 10, 0, 0, 0) << I(Op::Exit);
  EXPECT_LLVM_SAME_AS_INTERP(r10.insns);
  auto a = llvm_tier::compile(r10.insns, test_helpers(), {});
  ASSERT_FALSE(a);
  EXPECT_EQ(a.status().message(), "frame pointer is read only (insn 0)");
  Prog kfunc;
  kfunc << I(Op::CallKfunc, 0, 0, 0, 7) << I(Op::Exit);
  EXPECT_LLVM_SAME_AS_INTERP(kfunc.insns);
}

// main: *(r10-8) = 0; r0 = loop(nr, &cb, r10-8); return *(r10-8) * 100 + r0
// cb(i, ctx): *(r10-8) = 999 (its own frame); *ctx += i; return i == stop_at
Prog loop_program(int32_t nr, int32_t stop_at) {
  Prog p;
  p << I(Op::StDW, 10, 0, -8, 0) << I(Op::Mov64K, 1, 0, 0, nr);
  p.lddw(2, 12, BPF_PSEUDO_FUNC);                                     // cb at 15
  p << I(Op::Mov64X, 3, 10) << I(Op::Add64K, 3, 0, 0, -8) << call(7)  // the harness's bpf_loop
    << I(Op::Mov64X, 6, 0) << I(Op::LdxDW, 0, 10, -8) << I(Op::Mul64K, 0, 0, 0, 100)
    << I(Op::Add64X, 0, 6) << I(Op::Exit) << I(Op::Mov64K, 0, 0, 0, 0) << I(Op::Mov64K, 0, 0, 0, 0)
    << I(Op::Exit) << I(Op::StDW, 10, 0, -8, 999) << I(Op::LdxDW, 3, 2, 0) << I(Op::Add64X, 3, 1)
    << I(Op::StxDW, 2, 3, 0) << I(Op::Mov64K, 0, 0, 0, 0) << I(Op::Jne64K, 1, 0, 1, stop_at)
    << I(Op::Mov64K, 0, 0, 0, 1) << I(Op::Exit);
  return p;
}

TEST(LlvmCalls, HelperCallsBackIntoTheProgramOnItsOwnFrame) {
  // bpf_loop's callback writes the caller's stack through its ctx pointer, one frame below it.
  // The tier used to leave RunContext::call_function unset: the helper returned -EOPNOTSUPP
  // and the callback never ran (bench/progs' bpf_loop_mix returned another value).
  EXPECT_LLVM_SAME_AS_INTERP(loop_program(5, -1).insns);
  EXPECT_LLVM_SAME_AS_INTERP(loop_program(5, 2).insns);
  // Budgets running out in main, in a callback, between two callbacks, and not at all (11 + 4 x 7).
  for (uint64_t budget : {1u, 7u, 14u, 25u, 39u, 40u})
    EXPECT_LLVM_SAME_AS_INTERP(loop_program(4, -1).insns, {}, nullptr, 0, budget);
  for (int level : {2, 3}) {
    auto exe = llvm_tier::compile(loop_program(5, -1).insns, test_helpers(), {}, Options{level});
    ASSERT_TRUE(exe) << exe.status().message();
    RunContext rc;
    EXPECT_EQ((*exe)->run(rc, 0), 1005u);  // 0 + 1 + 2 + 3 + 4 in five calls
    EXPECT_EQ(rc.call_function, nullptr);  // the hook is only set while the program runs
    EXPECT_EQ(rc.engine_state, nullptr);
  }
}

// cb(i, ctx) calls loop(2, cb, ctx) again while *ctx < limit: callbacks nest one frame deeper each
// time, until the ninth frame is refused (CallDepth at the inner helper call, pc 20).
Prog nested_loop_program(int32_t limit) {
  Prog p;
  p << I(Op::StDW, 10, 0, -8, 0) << I(Op::Mov64K, 1, 0, 0, 2);         // 0..1
  p.lddw(2, 7, BPF_PSEUDO_FUNC);                                       // 2..3: cb at 10
  p << I(Op::Mov64X, 3, 10) << I(Op::Add64K, 3, 0, 0, -8) << call(7);  // 4..6
  p << I(Op::LdxDW, 1, 10, -8) << I(Op::Add64X, 0, 1) << I(Op::Exit);  // 7..9
  p << I(Op::LdxDW, 0, 2, 0) << I(Op::Add64K, 0, 0, 0, 1) << I(Op::StxDW, 2, 0, 0)  // 10..12
    << I(Op::Jlt64K, 0, 0, 2, limit) << I(Op::Mov64K, 0, 0, 0, 0) << I(Op::Exit)    // 13..15
    << I(Op::Mov64X, 3, 2) << I(Op::Mov64K, 1, 0, 0, 2);                            // 16..17
  p.lddw(2, static_cast<uint32_t>(-9), BPF_PSEUDO_FUNC);                            // 18..19: cb
  p << call(7) << I(Op::Exit);                                                      // 20..21
  return p;
}

TEST(LlvmCalls, NestedCallbacksTheDepthLimitAndBadFunctionValues) {
  const Mode unchecked = llvm_modes()[0];
  // Seven callback frames fit, the eighth is refused (each compare compiles five modes: two
  // limits keep the test short under ASan).
  for (int32_t limit : {7, 8}) {
    EXPECT_LLVM_SAME_AS_INTERP(nested_loop_program(limit).insns);
    const test::Run r = run(EngineKind::Llvm, unchecked, nested_loop_program(limit).insns, {});
    if (limit < 8) {  // main's frame and `limit` callback frames
      EXPECT_EQ(r.fault.kind, FaultKind::None) << limit;
    } else {
      EXPECT_EQ(r.fault.kind, FaultKind::CallDepth) << limit;
      EXPECT_EQ(r.fault.pc, 20u);
    }
  }
  // A value one byte past a function is no function: BadCall at the helper's call.
  Prog p;
  p << I(Op::Mov64K, 1, 0, 0, 1);
  p.lddw(2, static_cast<uint32_t>(-2), BPF_PSEUDO_FUNC);
  p << I(Op::Add64K, 2, 0, 0, 1) << I(Op::Mov64K, 3, 0, 0, 0) << call(7) << I(Op::Exit);
  // (Not compared with the interpreter: the fault's address is the engine's function address.)
  const test::Run r = run(EngineKind::Llvm, unchecked, p.insns, {});
  EXPECT_EQ(r.fault.kind, FaultKind::BadCall);
  EXPECT_EQ(r.fault.err, EINVAL);
  EXPECT_EQ(r.fault.pc, 5u);
}

// The callback calls f, which calls g, which reads 8 bytes at ctx + off (main's stack slot).
Prog deep_fault_program(int16_t off) {
  Prog p;
  p << I(Op::StDW, 10, 0, -8, 5) << I(Op::Mov64K, 1, 0, 0, 3);         // 0..1
  p.lddw(2, 7, BPF_PSEUDO_FUNC);                                       // 2..3: cb at 10
  p << I(Op::Mov64X, 3, 10) << I(Op::Add64K, 3, 0, 0, -8) << call(7);  // 4..6
  p << I(Op::LdxDW, 1, 10, -8) << I(Op::Add64X, 0, 1) << I(Op::Exit);  // 7..9
  p << I(Op::Mov64X, 6, 1) << I(Op::Mov64X, 1, 2) << call_local(4)     // 10..12: cb -> f
    << I(Op::Add64X, 0, 6) << I(Op::And64K, 0, 0, 0, 1) << I(Op::Mov64K, 0, 0, 0, 0)
    << I(Op::Exit);                               // 13..16
  p << I(Op::StxDW, 10, 1, -8) << call_local(2)   // 17..18: f -> g
    << I(Op::Add64K, 0, 0, 0, 1) << I(Op::Exit);  // 19..20
  p << I(Op::LdxDW, 0, 1, 0) << I(Op::Add64K, 0, 0, 0, 1) << I(Op::StxDW, 1, 0, 0)  // 21..23: g
    << I(Op::LdxDW, 0, 1, off) << I(Op::Exit);                                      // 24..25
  return p;
}

TEST(LlvmCalls, FaultsBudgetsAndPacketLoadsInsideCallbacks) {
  EXPECT_LLVM_SAME_AS_INTERP(deep_fault_program(0).insns);
  // Past the top of the stack, three frames below main: checked mode's fault at pc 24.
  EXPECT_LLVM_SAME_AS_INTERP(deep_fault_program(16).insns, {}, nullptr, 0, 1u << 30, true);
  Mode checked = llvm_modes()[0];
  checked.opts.checked = true;
  const test::Run r = run(EngineKind::Llvm, checked, deep_fault_program(16).insns, {});
  EXPECT_EQ(r.fault.kind, FaultKind::OutOfBounds);
  EXPECT_EQ(r.fault.pc, 24u);
  // The budget running out in f after g returned.
  for (uint64_t budget : {33u})
    EXPECT_LLVM_SAME_AS_INTERP(deep_fault_program(0).insns, {}, nullptr, 0, budget);
  // A failed packet load ends only the callback: bpf_loop sees 0 and goes on (five calls).
  Prog p;
  p << I(Op::Mov64X, 6, 1) << I(Op::Mov64K, 1, 0, 0, 5);
  p.lddw(2, 4, BPF_PSEUDO_FUNC);  // cb at 7
  p << I(Op::Mov64K, 3, 0, 0, 0) << call(7) << I(Op::Exit);
  p << I(Op::Mov64X, 7, 1) << I(Op::Lsh64K, 7, 0, 0, 2) << I(Op::LdIndB, 0, 7, 0, 0)
    << I(Op::Mov64K, 0, 0, 0, 0) << I(Op::Exit);
  const std::vector<uint8_t> pkt = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  EXPECT_LLVM_SAME_AS_INTERP(p.insns, {}, pkt.data(), static_cast<uint32_t>(pkt.size()));
  EXPECT_EQ(run(EngineKind::Llvm, llvm_modes()[0], p.insns, {}, pkt.data(), 9).r0, 5u);
}

// bpf_loop itself (the helper's implementation, not the harness's look-alike) is inlined when the
// callback is known at the call (unchecked mode): a loop calling the callback's function. Its
// semantics against the interpreter calling the helper: bad flags, too many iterations, only
// the low 32 bits of the count, any non-zero return stopping, the depth limit, a fault and the
// budget inside the callback.
TEST(LlvmCalls, InlinedBpfLoopKeepsTheHelpersSemantics) {
  HelperTable table;
  table.set(BPF_FUNC_loop, "bpf_loop", helpers::kLoopProto.fn);
  // main: *(r10-8) = 0; r0 = bpf_loop(count, cb, r10-8, flags); return r0 * 1000 + *(r10-8)
  // cb(i, ctx): *ctx += 1; return body (r0 = 0, or 2 at i == 3, or a bad callx)
  const auto program = [](uint64_t count, int32_t flags, int cb_kind) {
    Prog p;
    p << I(Op::StDW, 10, 0, -8, 0);
    p.lddw(1, count);                                             // 1..2
    p.lddw(2, 10, BPF_PSEUDO_FUNC);                               // 3..4: cb at 14
    p << I(Op::Mov64X, 3, 10) << I(Op::Add64K, 3, 0, 0, -8)       // 5..6
      << I(Op::Mov64K, 4, 0, 0, flags) << call(BPF_FUNC_loop)     // 7..8
      << I(Op::Mul64K, 0, 0, 0, 1000) << I(Op::LdxDW, 1, 10, -8)  // 9..10
      << I(Op::Add64X, 0, 1) << I(Op::Exit) << I(Op::Exit);       // 11..13
    p << I(Op::LdxDW, 0, 2, 0) << I(Op::Add64K, 0, 0, 0, 1) << I(Op::StxDW, 2, 0, 0)  // 14..16
      << I(Op::Mov64K, 0, 0, 0, 0);                                                   // 17
    if (cb_kind == 1) p << I(Op::Jne64K, 1, 0, 1, 3) << I(Op::Mov64K, 0, 0, 0, 2);
    if (cb_kind == 2) p << I(Op::Jne64K, 1, 0, 1, 3) << I(Op::Callx, 1);
    p << I(Op::Exit);
    return p.insns;
  };
  // cb calls bpf_loop(1, cb, ctx) again: one frame deeper each time, until the ninth is refused.
  Prog nested;
  nested << I(Op::StDW, 10, 0, -8, 0) << I(Op::Mov64K, 1, 0, 0, 1);
  nested.lddw(2, 6, BPF_PSEUDO_FUNC);  // cb at 9
  nested << I(Op::Mov64X, 3, 10) << I(Op::Add64K, 3, 0, 0, -8) << I(Op::Mov64K, 4, 0, 0, 0)
         << call(BPF_FUNC_loop) << I(Op::Exit);
  nested << I(Op::Mov64X, 3, 2) << I(Op::Mov64K, 1, 0, 0, 1);
  nested.lddw(2, static_cast<uint32_t>(-3), BPF_PSEUDO_FUNC);  // cb at 9
  nested << I(Op::Mov64K, 4, 0, 0, 0) << call(BPF_FUNC_loop) << I(Op::Exit);
  struct Case {
    std::vector<isa::Insn> prog;
    uint64_t budget;
  };
  const std::vector<Case> cases = {
      {program(5, 0, 0), 0},
      {program(0, 0, 0), 0},
      {program(5, 1, 0), 0},                        // -EINVAL
      {program((1u << 23) + 1, 0, 0), 0},           // -E2BIG
      {program((uint64_t{1} << 32) + 3, 0, 0), 0},  // the low 32 bits: 3
      {program(9, 0, 1), 0},                        // stops after i == 3 returned 2
      {program(9, 0, 2), 0},                        // BadCall in the callback at i == 3
      {program(4, 0, 0), 12},                       // the budget runs out in the third call
      {program(4, 0, 0), 33},                       // and in main after the loop
      {nested.insns, 0},
      {nested.insns, 1000},  // counted: no ninth frame ran
  };
  for (const Case& c : cases) {
    const ExecOptions opts{false, c.budget};
    auto interp = vm::compile(EngineKind::Interp, c.prog, table, opts);
    auto llvm = llvm_tier::compile(c.prog, table, opts);
    ASSERT_TRUE(interp) << interp.status().message();
    ASSERT_TRUE(llvm) << llvm.status().message();
    RunContext want_rc, got_rc;
    const uint64_t want = (*interp)->run(want_rc, 0);
    const uint64_t got = (*llvm)->run(got_rc, 0);
    const std::string prog = isa::disassemble_program(c.prog);
    EXPECT_EQ(got, want) << prog;
    EXPECT_EQ(got_rc.fault.kind, want_rc.fault.kind) << prog;
    EXPECT_EQ(got_rc.fault.pc, want_rc.fault.pc) << prog;
    EXPECT_EQ(got_rc.fault.err, want_rc.fault.err) << prog;
    EXPECT_EQ(got_rc.insns_executed, want_rc.insns_executed) << prog;
  }
}

}  // namespace
}  // namespace bpfbox::vm::llvm_tier::test
