// RunContext::call_function in JIT runs (bpf_loop-style callbacks), against the interpreter in
// every mode: results, budgets running out inside callbacks, faults at depth inside a callback,
// nested callbacks, the depth limit, values that are no function, packet loads that end only the
// callback.
#include <gtest/gtest.h>

#include "jit_harness.hpp"

namespace bpfbox::vm::jit::test {
namespace {

constexpr int32_t kLoop = 7;  // the harness's bpf_loop-like helper

Insn call(int32_t id) {
  return I(Op::Call, 0, 0, 0, id);
}

// main: *(r10-8) = 0; r0 = loop(nr, &cb, r10-8); return *(r10-8) * 100 + r0
// cb(i, ctx): *(r10-8) = 999 (its own frame); *ctx += i; return i == stop_at
Prog loop_program(int32_t nr, int32_t stop_at) {
  Prog p;
  p << I(Op::StDW, 10, 0, -8, 0) << I(Op::Mov64K, 1, 0, 0, nr);                       // 0..1
  p.lddw(2, 12, BPF_PSEUDO_FUNC);                                                     // 2..3: cb
  p << I(Op::Mov64X, 3, 10) << I(Op::Add64K, 3, 0, 0, -8) << call(kLoop)              // 4..6
    << I(Op::Mov64X, 6, 0) << I(Op::LdxDW, 0, 10, -8) << I(Op::Mul64K, 0, 0, 0, 100)  // 7..9
    << I(Op::Add64X, 0, 6) << I(Op::Exit)                                             // 10..11
    << I(Op::Mov64K, 0, 0, 0, 0) << I(Op::Mov64K, 0, 0, 0, 0) << I(Op::Exit)          // 12..14
    << I(Op::StDW, 10, 0, -8, 999)                                                    // 15: cb
    << I(Op::LdxDW, 3, 2, 0) << I(Op::Add64X, 3, 1) << I(Op::StxDW, 2, 3, 0)          // 16..18
    << I(Op::Mov64K, 0, 0, 0, 0) << I(Op::Jne64K, 1, 0, 1, stop_at)                   // 19..20
    << I(Op::Mov64K, 0, 0, 0, 1) << I(Op::Exit);                                      // 21..22
  return p;
}

uint64_t jit_r0(const std::vector<Insn>& prog, ExecOptions opts = {}) {
  const test::Run r = run(Variant{"jit", true, opts, host_tuning()}, prog, {});
  EXPECT_EQ(r.fault.kind, FaultKind::None) << describe(r.fault);
  return r.r0;
}

TEST(JitCallback, HelperCallsBackIntoTheProgramOnItsOwnFrame) {
  // 0 + 1 + 2 + 3 + 4 in five calls; the callback's r10-8 is not main's.
  EXPECT_SAME_AS_INTERP(loop_program(5, -1).insns);
  EXPECT_EQ(jit_r0(loop_program(5, -1).insns), 1005u);
  EXPECT_EQ(jit_r0(loop_program(5, -1).insns, {true, 0}), 1005u);
  // Stops when the callback returns 1 (after i == 2): 0 + 1 + 2, three calls.
  EXPECT_SAME_AS_INTERP(loop_program(5, 2).insns);
  EXPECT_EQ(jit_r0(loop_program(5, 2).insns), 303u);
}

TEST(JitCallback, TheHookIsOnlySetWhileTheProgramRuns) {
  auto exe = jit::compile(loop_program(3, -1).insns, test_helpers(), {});
  ASSERT_TRUE(exe) << exe.status().message();
  RunContext rc;
  EXPECT_EQ((*exe)->run(rc, 0), 303u);
  EXPECT_EQ(rc.call_function, nullptr);
  EXPECT_EQ(rc.engine_state, nullptr);
}

TEST(JitCallback, BudgetRunningOutAnywhereMatchesTheInterpreter) {
  // main runs 11 instructions, each callback 7: every budget up to the whole run and past it.
  for (uint64_t budget = 1; budget <= 11 + 4 * 7 + 1; ++budget)
    EXPECT_SAME_AS_INTERP(loop_program(4, -1).insns, {}, nullptr, 0, budget);
}

// The callback (at `cb`) calls f, which calls g, which reads 8 bytes at ctx + off.
Prog deep_fault_program(int16_t off) {
  Prog p;
  p << I(Op::StDW, 10, 0, -8, 5) << I(Op::Mov64K, 1, 0, 0, 3);             // 0..1
  p.lddw(2, 7, BPF_PSEUDO_FUNC);                                           // 2..3: cb at 10
  p << I(Op::Mov64X, 3, 10) << I(Op::Add64K, 3, 0, 0, -8) << call(kLoop);  // 4..6
  p << I(Op::LdxDW, 1, 10, -8) << I(Op::Add64X, 0, 1) << I(Op::Exit);      // 7..9
  // cb(i, ctx): r0 = f(ctx) + i; return 0 unless r0 is odd
  p << I(Op::Mov64X, 6, 1) << I(Op::Mov64X, 1, 2) << I(Op::CallLocal, 0, 1, 0, 4)  // 10..12: f
    << I(Op::Add64X, 0, 6) << I(Op::And64K, 0, 0, 0, 1) << I(Op::Mov64K, 0, 0, 0, 0)
    << I(Op::Exit);  // 13..16
  // f(ctx): *(r10-8) = ctx; return g(ctx) + 1
  p << I(Op::StxDW, 10, 1, -8) << I(Op::CallLocal, 0, 1, 0, 2)  // 17..18: g
    << I(Op::Add64K, 0, 0, 0, 1) << I(Op::Exit);                // 19..20
  // g(ctx): *ctx += 1; return *(ctx + off)
  p << I(Op::LdxDW, 0, 1, 0) << I(Op::Add64K, 0, 0, 0, 1) << I(Op::StxDW, 1, 0, 0)  // 21..23
    << I(Op::LdxDW, 0, 1, off) << I(Op::Exit);                                      // 24..25
  return p;
}

TEST(JitCallback, FaultTwoFramesDeepInsideACallbackEndsTheRun) {
  // In bounds: three callbacks, each adding 1 to main's slot.
  EXPECT_SAME_AS_INTERP(deep_fault_program(0).insns);
  // Past the top of the stack (above main's frame): a checked-mode fault at pc 24, three frames
  // below main; both engines stop there with the same fault and the same budget count.
  EXPECT_SAME_AS_INTERP(deep_fault_program(16).insns, {}, nullptr, 0, 1u << 30, true);
  const test::Run r = test::run(Variant{"checked", true, {true, 0}, host_tuning()},
                                deep_fault_program(16).insns, {});
  EXPECT_EQ(r.fault.kind, FaultKind::OutOfBounds);
  EXPECT_EQ(r.fault.pc, 24u);
  for (uint64_t budget = 1; budget <= 60; ++budget)
    EXPECT_SAME_AS_INTERP(deep_fault_program(0).insns, {}, nullptr, 0, budget);
}

TEST(JitCallback, NestedCallbacksAndTheDepthLimit) {
  // cb(i, ctx) calls loop(2, cb, ctx) again while *ctx < limit: callbacks nest one frame deeper
  // each time, until the ninth frame is refused (CallDepth at the inner helper call, pc 20).
  for (int32_t limit : {1, 3, 6, 7, 8, 20}) {
    Prog p;
    p << I(Op::StDW, 10, 0, -8, 0) << I(Op::Mov64K, 1, 0, 0, 2);             // 0..1
    p.lddw(2, 7, BPF_PSEUDO_FUNC);                                           // 2..3: cb at 10
    p << I(Op::Mov64X, 3, 10) << I(Op::Add64K, 3, 0, 0, -8) << call(kLoop);  // 4..6
    p << I(Op::LdxDW, 1, 10, -8) << I(Op::Add64X, 0, 1) << I(Op::Exit);      // 7..9
    // cb: *ctx += 1; if *ctx >= limit return 0; return loop(2, cb, ctx)
    p << I(Op::LdxDW, 0, 2, 0) << I(Op::Add64K, 0, 0, 0, 1) << I(Op::StxDW, 2, 0, 0)  // 10..12
      << I(Op::Jlt64K, 0, 0, 2, limit) << I(Op::Mov64K, 0, 0, 0, 0) << I(Op::Exit)    // 13..15
      << I(Op::Mov64X, 3, 2) << I(Op::Mov64K, 1, 0, 0, 2);                            // 16..17
    p.lddw(2, static_cast<uint32_t>(-9), BPF_PSEUDO_FUNC);                            // 18..19: cb
    p << call(kLoop) << I(Op::Exit);                                                  // 20..21
    EXPECT_SAME_AS_INTERP(p.insns);
    const test::Run r = run(Variant{"jit", true, {}, host_tuning()}, p.insns, {});
    if (limit < 8) {  // main's frame and `limit` callback frames
      EXPECT_EQ(r.fault.kind, FaultKind::None) << limit;
    } else {
      EXPECT_EQ(r.fault.kind, FaultKind::CallDepth) << limit;
      EXPECT_EQ(r.fault.pc, 20u);
    }
  }
}

TEST(JitCallback, AValueThatIsNoFunctionIsABadCallAtTheHelper) {
  Prog p;
  p << I(Op::Mov64K, 1, 0, 0, 1);
  p.lddw(2, static_cast<uint32_t>(-2), BPF_PSEUDO_FUNC);  // main itself...
  p << I(Op::Add64K, 2, 0, 0, 1)                          // ...and this is one byte past it
    << I(Op::Mov64K, 3, 0, 0, 0) << call(kLoop) << I(Op::Exit);
  const test::Run r = run(Variant{"jit", true, {}, host_tuning()}, p.insns, {});
  EXPECT_EQ(r.fault.kind, FaultKind::BadCall) << r.r0;
  EXPECT_EQ(r.fault.err, EINVAL);
  EXPECT_EQ(r.fault.pc, 5u);
}

TEST(JitCallback, AFailedPacketLoadEndsOnlyTheCallback) {
  // cb(i, ctx): r0 = packet byte at 4 * i (past the 9-byte packet from i = 3 on: r0 = 0 and the
  // callback ends); the loop goes on: the helper sees 0 and calls again.
  Prog p;
  p << I(Op::Mov64X, 6, 1) << I(Op::Mov64K, 1, 0, 0, 5);         // 0..1
  p.lddw(2, 4, BPF_PSEUDO_FUNC);                                 // 2..3: cb at 7
  p << I(Op::Mov64K, 3, 0, 0, 0) << call(kLoop) << I(Op::Exit);  // 4..6
  p << I(Op::Mov64X, 7, 1) << I(Op::Lsh64K, 7, 0, 0, 2) << I(Op::LdIndB, 0, 7, 0, 0)
    << I(Op::Mov64K, 0, 0, 0, 0) << I(Op::Exit);
  const std::vector<uint8_t> pkt = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  EXPECT_SAME_AS_INTERP(p.insns, {}, pkt.data(), static_cast<uint32_t>(pkt.size()));
  const test::Run r = run(Variant{"jit", true, {}, host_tuning()}, p.insns, {}, pkt.data(), 9);
  EXPECT_EQ(r.r0, 5u);
}

}  // namespace
}  // namespace bpfbox::vm::jit::test
