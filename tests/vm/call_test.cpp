// Helper calls, bpf-to-bpf calls (frames, stacks, callee-saved registers, depth), callx, and what
// compile() refuses.
#include <cstdint>
#include <string>

#include "vm_test_util.hpp"

namespace bpfbox::vm::test {
namespace {

struct Seen {
  uint64_t args[5] = {};
  RunContext* rc = nullptr;
  int calls = 0;
};

uint64_t record_args(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e, RunContext* rc) {
  Seen* s = static_cast<Seen*>(rc->user);
  s->args[0] = a;
  s->args[1] = b;
  s->args[2] = c;
  s->args[3] = d;
  s->args[4] = e;
  s->rc = rc;
  ++s->calls;
  return a + b + c + d + e;
}

uint64_t times_two(uint64_t a, uint64_t, uint64_t, uint64_t, uint64_t, RunContext*) {
  return a * 2;
}

uint64_t fails(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, RunContext* rc) {
  rc->fault = Fault{FaultKind::BadCall, EINVAL, 0, 1234, 0, 0};
  return 0;
}

bool contains(const Status& st, const std::string& what) {
  return st.message().find(what) != std::string::npos;
}

TEST(Call, HelperReceivesR1ToR5AndTheRunContext) {
  HelperTable helpers;
  helpers.set(7, "record_args", record_args);
  Prog p;
  p.lddw(1, 0x1000000000ull) << mov(2, 2) << mov(3, 3) << mov(4, 4) << mov(5, -5)
                             << I(Op::Call, 0, 0, 0, 7) << exit_insn();
  auto exe = compile_ok(p.insns, helpers);
  Seen seen;
  RunContext rc;
  rc.user = &seen;
  EXPECT_EQ(exe->run(rc, 0), 0x1000000000ull + 2 + 3 + 4 - 5);
  EXPECT_EQ(seen.calls, 1);
  EXPECT_EQ(seen.args[0], 0x1000000000ull);
  EXPECT_EQ(seen.args[1], 2u);
  EXPECT_EQ(seen.args[2], 3u);
  EXPECT_EQ(seen.args[3], 4u);
  EXPECT_EQ(seen.args[4], static_cast<uint64_t>(-5));
  EXPECT_EQ(seen.rc, &rc);
}

TEST(Call, UnknownHelperIsRefusedAtCompile) {
  HelperTable helpers;
  helpers.set(1, "times_two", times_two);
  Prog p;
  p << mov(0, 0) << I(Op::Call, 0, 0, 0, 99) << exit_insn();
  Status st = compile_error(p.insns, helpers);
  EXPECT_EQ(st.err(), EINVAL);
  EXPECT_TRUE(contains(st, "invalid func unknown#99 (insn 1)")) << st.message();
}

TEST(Call, HelperSettingAFaultEndsTheRun) {
  HelperTable helpers;
  helpers.set(3, "fails", fails);
  Prog p;
  p << mov(0, 5) << I(Op::Call, 0, 0, 0, 3) << mov(0, 9) << exit_insn();
  auto exe = compile_ok(p.insns, helpers);
  RunContext rc;
  EXPECT_EQ(exe->run(rc, 0), 0u);
  EXPECT_EQ(rc.fault.kind, FaultKind::BadCall);
  EXPECT_EQ(rc.fault.addr, 1234u);
  // The next run starts clean.
  rc.fault = {};
  auto ok = compile_ok((Prog{} << mov(0, 1) << exit_insn()).insns);
  EXPECT_EQ(ok->run(rc, 0), 1u);
  EXPECT_EQ(rc.fault.kind, FaultKind::None);
}

TEST(Call, LocalCallPreservesR6ToR9AndReturnsR0) {
  // main is pcs 0..13, f starts at 14.
  Prog q;
  q << mov(6, 6) << mov(7, 7) << mov(8, 8) << mov(9, 9) << mov(1, 100)    // 0..4
    << I(Op::CallLocal, 0, 1, 0, 8)                                       // 5: call pc 14
    << movr(1, 0)                                                         // 6
    << I(Op::Lsh64K, 6, 0, 0, 4)                                          // 7
    << I(Op::Add64X, 6, 7) << I(Op::Add64X, 6, 8) << I(Op::Add64X, 6, 9)  // 8..10
    << movr(0, 6)                                                         // 11
    << I(Op::Add64X, 0, 1)                                                // 12
    << exit_insn()                                                        // 13
    // f: clobbers r6..r9, returns r1 + 1.
    << mov(6, -1) << mov(7, -1) << mov(8, -1) << mov(9, -1)  // 14..17
    << movr(0, 1) << I(Op::Add64K, 0, 0, 0, 1) << exit_insn();
  EXPECT_EQ(run_r0(q.insns), 120u + 101u);
}

TEST(Call, EachFrameHasItsOwnStack) {
  // main: *(r10-8) = 111; call f; r0 = *(r10-8) + f's r10 distance
  // f: *(r10-8) = 222; r0 = r10; exit
  Prog p;
  p << I(Op::StDW, 10, 0, -8, 111)   // 0
    << I(Op::CallLocal, 0, 1, 0, 5)  // 1: call pc 7
    << movr(2, 10)                   // 2
    << I(Op::Sub64X, 2, 0)           // 3: r2 = main r10 - f r10
    << I(Op::LdxDW, 0, 10, -8)       // 4
    << I(Op::Add64X, 0, 2)           // 5
    << exit_insn()                   // 6
    << I(Op::StDW, 10, 0, -8, 222)   // 7: f
    << I(Op::LdxDW, 3, 10, -8)       // 8
    << movr(0, 10) << exit_insn();   // 9, 10
  EXPECT_EQ(run_r0(p.insns), 111u + 512u);
}

// f(r1): if r1 == 0 return 0; return f(r1 - 1) + 1.  main: return f(depth).
Prog recursion(int32_t depth) {
  Prog p;
  p << mov(1, depth) << I(Op::CallLocal, 0, 1, 0, 1) << exit_insn()  // 0..2
    << mov(0, 0)                                                     // 3: f
    << I(Op::Jeq64K, 1, 0, 3, 0)                                     // 4: if r1 == 0 goto 8
    << I(Op::Sub64K, 1, 0, 0, 1)                                     // 5
    << I(Op::CallLocal, 0, 1, 0, -4)                                 // 6: call f (pc 3)
    << I(Op::Add64K, 0, 0, 0, 1)                                     // 7
    << exit_insn();                                                  // 8
  return p;
}

TEST(Call, EightFramesAreAllowed) {
  // main + f(6) .. f(0) = 8 frames.
  EXPECT_EQ(run_r0(recursion(6).insns), 6u);
}

TEST(Call, NineFramesFaultWithCallDepth) {
  for (bool checked : {false, true}) {
    auto exe = compile_ok(recursion(7).insns, {}, ExecOptions{checked, 0});
    RunContext rc;
    EXPECT_EQ(exe->run(rc, 0), 0u);
    EXPECT_EQ(rc.fault.kind, FaultKind::CallDepth);
    EXPECT_EQ(rc.fault.err, E2BIG);
    EXPECT_EQ(rc.fault.pc, 6u);
    EXPECT_NE(describe(rc.fault, &rc).find("pc 6"), std::string::npos) << describe(rc.fault, &rc);
  }
}

TEST(Call, CallxOfAPseudoFuncIsALocalCall) {
  // r2 = &f; r1 = 20; callx r2; r0 += 1; exit; f: r0 = r1 * 2; exit
  Prog p;
  p.lddw(2, 6, BPF_PSEUDO_FUNC);  // 0..1: f at pc 0 + 6 + 1 = 7
  p << mov(1, 20) << mov(6, 3) << I(Op::Callx, 2) << I(Op::Add64X, 0, 6) << exit_insn()  // 2..6
    << mov(6, 99) << movr(0, 1) << I(Op::Lsh64K, 0, 0, 0, 1) << exit_insn();             // 7..10
  EXPECT_EQ(run_r0(p.insns), 43u);
}

TEST(Call, CallxOfASmallIntegerIsAHelperCall) {
  // As the conformance suite's callx test: r2 = 5; callx r2 calls helper 5.
  HelperTable helpers;
  helpers.set(5, "times_two", times_two);
  Prog p;
  p << mov(1, 21) << mov(2, 5) << I(Op::Callx, 2) << exit_insn();
  EXPECT_EQ(run_all(p.insns, {}, helpers).r0, 42u);
}

TEST(Call, CallxOfAnythingElseFaults) {
  HelperTable helpers;
  helpers.set(5, "times_two", times_two);
  const uint64_t bad[] = {4, 6, 1000, 0xdeadbeef};
  for (uint64_t target : bad) {
    for (bool checked : {false, true}) {
      Prog p;
      p.lddw(2, target) << I(Op::Callx, 2) << exit_insn();
      auto exe = compile_ok(p.insns, helpers, ExecOptions{checked, 0});
      RunContext rc;
      EXPECT_EQ(exe->run(rc, 0), 0u);
      EXPECT_EQ(rc.fault.kind, FaultKind::BadCall) << target;
      EXPECT_EQ(rc.fault.pc, 2u);
      EXPECT_EQ(rc.fault.addr, target);
    }
  }
  // A BPF_PSEUDO_FUNC value moved off a function entry is no function either.
  Prog p;
  p.lddw(2, 4, BPF_PSEUDO_FUNC);  // f at pc 5
  p << I(Op::Add64K, 2, 0, 0, 16) << I(Op::Callx, 2) << exit_insn() << mov(0, 1) << exit_insn();
  auto exe = compile_ok(p.insns);
  RunContext rc;
  exe->run(rc, 0);
  EXPECT_EQ(rc.fault.kind, FaultKind::BadCall);
}

TEST(Compile, RefusesKfuncsAndUnresolvedPseudoLoads) {
  Prog k;
  k << mov(0, 0) << I(Op::CallKfunc, 0, 0, 0, 1234) << exit_insn();
  Status st = compile_error(k.insns);
  EXPECT_EQ(st.err(), EINVAL);
  EXPECT_TRUE(contains(st, "kernel function calls (kfuncs) are not supported yet (insn 1)"))
      << st.message();

  for (uint8_t src : {BPF_PSEUDO_MAP_FD, BPF_PSEUDO_MAP_VALUE, BPF_PSEUDO_BTF_ID}) {
    Prog m;
    m << mov(0, 0);
    m.lddw(1, 3, src) << exit_insn();
    st = compile_error(m.insns);
    EXPECT_EQ(st.err(), EINVAL);
    EXPECT_TRUE(contains(st, "ld_imm64 with pseudo source " + std::to_string(src) +
                                 " must be resolved by the loader (insn 1)"))
        << st.message();
  }
}

TEST(Compile, RefusesWritesToTheFramePointer) {
  // r10 is read only: a mov, an ALU op, a load and a fetching atomic into it are all refused, by
  // the interpreter exactly as by the JIT (both ask vm::check_executable_form).
  const Insn writes[] = {
      mov(10, 0),
      I(Op::Add64K, 10, 0, 0, 8),
      I(Op::LdxDW, 10, 1, 0, 0),
      I(Op::Atomic64FetchAdd, 1, 10, 0, BPF_ADD | BPF_FETCH),
  };
  for (const Insn& w : writes) {
    Prog p;
    p << mov(0, 0) << w << exit_insn();
    Status st = compile_error(p.insns);
    EXPECT_EQ(st.err(), EINVAL);
    EXPECT_EQ(st.message(), "frame pointer is read only (insn 1)");
  }
  Prog reads;  // reading r10 is fine
  reads << I(Op::Mov64X, 1, 10, 0, 0) << mov(0, 0) << exit_insn();
  EXPECT_TRUE(compile(EngineKind::Interp, reads.insns, HelperTable{}));
}

TEST(Compile, DecoderErrorsPassThrough) {
  Prog p;
  p << mov(0, 0);  // no exit
  Status st = compile_error(p.insns);
  EXPECT_EQ(st.err(), EINVAL);
  EXPECT_TRUE(contains(st, "last insn")) << st.message();
  st = compile_error({});
  EXPECT_EQ(st.err(), EINVAL);
}

TEST(Compile, InterpreterNamesItself) {
  Prog p;
  p << mov(0, 0) << exit_insn();
  auto interp = compile(EngineKind::Interp, p.insns, HelperTable{});
  ASSERT_TRUE(interp.is_ok());
  EXPECT_STREQ(interp.value()->engine_name(), "interp");
}

}  // namespace
}  // namespace bpfbox::vm::test

namespace bpfbox::vm::test {
namespace {

// A bpf_loop-like helper: calls fn(i, ctx) for i < nr until it returns 1; returns the count.
uint64_t loop_helper(uint64_t nr, uint64_t fn, uint64_t ctx, uint64_t, uint64_t, RunContext* rc) {
  if (!rc->call_function) return static_cast<uint64_t>(-EOPNOTSUPP);
  uint64_t i = 0;
  while (i < nr) {
    const uint64_t r = rc->call_function(rc, fn, i++, ctx, 0, 0, 0);
    if (rc->fault.kind != FaultKind::None) return 0;
    if (r == 1) break;
  }
  return i;
}

constexpr int32_t kLoop = 181;

// main: *(r10-8) = 0; r0 = loop(nr, &cb, r10-8); return *(r10-8) * 100 + r0
// cb(i, ctx): *(r10-8) = 999 (its own frame); *ctx += i; return i == stop_at
Prog loop_program(int32_t nr, int32_t stop_at) {
  Prog p;
  p << I(Op::StDW, 10, 0, -8, 0) << mov(1, nr);  // 0..1
  p.lddw(2, 12, BPF_PSEUDO_FUNC);                // 2..3: cb at 2 + 12 + 1 = 15
  p << movr(3, 10) << I(Op::Add64K, 3, 0, 0, -8) << I(Op::Call, 0, 0, 0, kLoop)   // 4..6
    << movr(6, 0) << I(Op::LdxDW, 0, 10, -8) << I(Op::Mul64K, 0, 0, 0, 100)       // 7..9
    << I(Op::Add64X, 0, 6) << exit_insn()                                         // 10..11
    << mov(0, 0) << mov(0, 0) << exit_insn()                                      // 12..14: filler
    << I(Op::StDW, 10, 0, -8, 999)                                                // 15: cb
    << I(Op::LdxDW, 3, 2, 0) << I(Op::Add64X, 3, 1) << I(Op::StxDW, 2, 3, 0)      // 16..18
    << mov(0, 0) << I(Op::Jne64K, 1, 0, 1, stop_at) << mov(0, 1) << exit_insn();  // 19..22
  return p;
}

TEST(Callback, HelperCallsBackIntoTheProgramOnItsOwnFrame) {
  HelperTable helpers;
  helpers.set(kLoop, "bpf_loop", loop_helper);
  // 0 + 1 + 2 + 3 + 4, five calls; the callback's r10-8 is not main's.
  EXPECT_EQ(run_all(loop_program(5, -1).insns, {}, helpers).r0, 1005u);
  // Stops when the callback returns 1 (after i == 2): 0 + 1 + 2, three calls.
  EXPECT_EQ(run_all(loop_program(5, 2).insns, {}, helpers).r0, 303u);
}

TEST(Callback, BudgetCountsTheCallbacksInstructions) {
  HelperTable helpers;
  helpers.set(kLoop, "bpf_loop", loop_helper);
  // main runs 11 instructions (lddw once), each callback 7 (i != stop_at: 15..20, 22).
  auto exe = compile_ok(loop_program(4, -1).insns, helpers, ExecOptions{false, 1000});
  RunContext rc;
  EXPECT_EQ(exe->run(rc, 0), 604u);
  EXPECT_EQ(rc.insns_executed, 11u + 4 * 7);
  EXPECT_EQ(rc.call_function, nullptr);  // only set while running
  // A budget that runs out inside a callback ends the whole run there.
  auto tight = compile_ok(loop_program(4, -1).insns, helpers, ExecOptions{true, 20});
  EXPECT_EQ(tight->run(rc, 0), 0u);
  EXPECT_EQ(rc.fault.kind, FaultKind::Budget);
  EXPECT_GE(rc.fault.pc, 15u);
  EXPECT_EQ(rc.insns_executed, 20u);
}

TEST(Callback, FaultInACallbackStopsTheRun) {
  HelperTable helpers;
  helpers.set(kLoop, "bpf_loop", loop_helper);
  Prog p = loop_program(3, -1);
  p.insns[16] = I(Op::LdxDW, 3, 2, 8);  // reads past the ctx slot, above main's frame
  auto exe = compile_ok(p.insns, helpers, ExecOptions{true, 0});
  RunContext rc;
  EXPECT_EQ(exe->run(rc, 0), 0u);
  EXPECT_EQ(rc.fault.kind, FaultKind::OutOfBounds);
  EXPECT_EQ(rc.fault.pc, 16u);
}

TEST(Callback, AValueThatIsNoFunctionIsABadCall) {
  HelperTable helpers;
  helpers.set(kLoop, "bpf_loop", loop_helper);
  Prog p;
  p << mov(1, 1) << mov(2, 12345) << mov(3, 0) << I(Op::Call, 0, 0, 0, kLoop) << exit_insn();
  auto exe = compile_ok(p.insns, helpers);
  RunContext rc;
  EXPECT_EQ(exe->run(rc, 0), 0u);
  EXPECT_EQ(rc.fault.kind, FaultKind::BadCall);
  EXPECT_EQ(rc.fault.pc, 3u);
  EXPECT_EQ(rc.fault.addr, 12345u);
}

}  // namespace
}  // namespace bpfbox::vm::test
