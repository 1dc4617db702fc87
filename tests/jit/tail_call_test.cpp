// bpf_tail_call (`call 12` with r2 = map, r3 = index) in both engines, in every mode: chains, the
// limit of 33, empty slots, updates seen by the next tail call, r1 = the run's ctx, tail calls
// from a subprogram, budget and checked mode across programs, and targets of the other engine.
// The program array is a test-local lookup over a vector of Executables (the real PROG_ARRAY is
// the maps layer's).
#include <gtest/gtest.h>

#include <array>
#include <cerrno>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "jit_harness.hpp"

namespace bpfbox::vm::jit::test {
namespace {

// Slots at fixed addresses, as a real PROG_ARRAY's (the JIT reads a constant slot inline), the
// first max_entries of them in range (fixed before the programs are compiled, as a map's).
struct ProgArray {
  uint32_t max_entries = 48;
  struct Slots {
    std::array<const Executable*, 48> at{};
    size_t n = 0;
    Slots& operator=(std::initializer_list<const Executable*> l) {
      clear();
      for (const Executable* e : l) push_back(e);
      return *this;
    }
    void clear() { at.fill(nullptr), n = 0; }
    void push_back(const Executable* e) { at[n++] = e; }
    size_t size() const { return n; }
    const Executable*& operator[](size_t i) { return at[i]; }
  } slots;
};

const Executable* lookup(void* map, uint32_t index) {
  const auto* a = static_cast<const ProgArray*>(map);
  return index < a->max_entries ? a->slots.at[index] : nullptr;
}

TailCallSlot slot(void* map, uint32_t index) {
  auto* a = static_cast<ProgArray*>(map);
  return index < a->max_entries ? TailCallSlot{&a->slots.at[index]} : TailCallSlot{};
}

HelperTable tail_helpers() {
  HelperTable h = test_helpers();
  h.set_tail_call_lookup(&lookup, &slot);
  return h;
}

struct Mode {
  const char* name;
  EngineKind engine;
  ExecOptions opts;
};

const Mode kModes[] = {
    {"interp", EngineKind::Interp, {false, 0}},
    {"interp_checked", EngineKind::Interp, {true, 0}},
    {"interp_budget", EngineKind::Interp, {false, 1u << 20}},
    {"interp_checked_budget", EngineKind::Interp, {true, 1u << 20}},
    {"jit", EngineKind::Jit, {false, 0}},
    {"jit_checked", EngineKind::Jit, {true, 0}},
    {"jit_budget", EngineKind::Jit, {false, 1u << 20}},
    {"jit_checked_budget", EngineKind::Jit, {true, 1u << 20}},
    {"jit_blind", EngineKind::Jit, {false, 0, true}},
#ifdef BPFBOX_HAVE_LLVM
    {"llvm", EngineKind::Llvm, {false, 0}},
    {"llvm_checked", EngineKind::Llvm, {true, 0}},
    {"llvm_budget", EngineKind::Llvm, {false, 1u << 20}},
    {"llvm_checked_budget", EngineKind::Llvm, {true, 1u << 20}},
#endif
};

// r2 = &array, r3 = index, call bpf_tail_call.
void tail_call(Prog& p, const ProgArray& array, int32_t index) {
  p.lddw(2, reinterpret_cast<uint64_t>(&array));
  p << I(Op::Mov64K, 3, 0, 0, index) << I(Op::Call, 0, 0, 0, BPF_FUNC_tail_call);
}

// ctx[slot] += 1 through r1 (the ctx).
void count(Prog& p, int16_t slot) {
  p << I(Op::LdxDW, 0, 1, slot * 8) << I(Op::Add64K, 0, 0, 0, 1) << I(Op::StxDW, 1, 0, slot * 8);
}

class TailCall : public ::testing::TestWithParam<Mode> {
 protected:
  std::unique_ptr<Executable> build(const Prog& p, const ExecOptions* opts = nullptr,
                                    EngineKind* engine = nullptr) {
    auto exe = compile(engine ? *engine : GetParam().engine, p.insns, helpers_,
                       opts ? *opts : GetParam().opts);
    EXPECT_TRUE(exe.is_ok()) << exe.status().message();
    return exe.is_ok() ? std::move(exe).value() : nullptr;
  }
  uint64_t run(const Executable& exe) {
    rc_ = RunContext{};
    rc_.add_region(ctx_, sizeof ctx_, kReadWrite, "ctx");
    return exe.run(rc_, reinterpret_cast<uint64_t>(ctx_));
  }
  void expect_no_fault() { EXPECT_EQ(rc_.fault.kind, FaultKind::None) << describe(rc_.fault); }

  HelperTable helpers_ = tail_helpers();
  ProgArray array_;
  uint64_t ctx_[48] = {};
  RunContext rc_;
};

TEST_P(TailCall, ChainRunsEachProgramOnceAndNeverReturns) {
  // P0 -> slot 1 (P1) -> slot 2 (P2), which returns 42; what follows a tail call never runs.
  Prog p0, p1, p2;
  count(p0, 0);
  tail_call(p0, array_, 1);
  p0 << I(Op::StDW, 1, 0, 40, 666) << I(Op::Mov64K, 0, 0, 0, 1) << I(Op::Exit);
  count(p1, 1);
  tail_call(p1, array_, 2);
  p1 << I(Op::StDW, 1, 0, 40, 777) << I(Op::Mov64K, 0, 0, 0, 2) << I(Op::Exit);
  count(p2, 2);
  p2 << I(Op::Mov64K, 0, 0, 0, 42) << I(Op::Exit);
  auto e0 = build(p0), e1 = build(p1), e2 = build(p2);
  ASSERT_TRUE(e0 && e1 && e2);
  array_.slots = {e0.get(), e1.get(), e2.get()};
  EXPECT_EQ(run(*e0), 42u);
  expect_no_fault();
  EXPECT_EQ(ctx_[0], 1u);
  EXPECT_EQ(ctx_[1], 1u);
  EXPECT_EQ(ctx_[2], 1u);
  EXPECT_EQ(ctx_[5], 0u);
  EXPECT_EQ(rc_.tail_call_cnt, 2u);
  if (GetParam().opts.insn_budget) {
    EXPECT_EQ(rc_.insns_executed, 6u + 6 + 5);  // an lddw and a call count once each
  }
}

TEST_P(TailCall, AtMost33TailCallsThenFallThrough) {
  // Slot 0 is the program itself: it counts its runs and tail-calls itself until refused; the
  // failed tail call leaves r0 = 0, and the program then returns r0 + 100.
  Prog p;
  count(p, 0);
  tail_call(p, array_, 0);
  p << I(Op::Add64K, 0, 0, 0, 100) << I(Op::Exit);
  auto e = build(p);
  ASSERT_TRUE(e);
  array_.slots = {e.get()};
  for (int twice = 0; twice < 2; ++twice) {  // the count is per run
    ctx_[0] = 0;
    EXPECT_EQ(run(*e), 100u);
    expect_no_fault();
    EXPECT_EQ(ctx_[0], 1u + kMaxTailCallCnt);
    EXPECT_EQ(rc_.tail_call_cnt, kMaxTailCallCnt);
  }
}

TEST_P(TailCall, ChainsUpToAndPastTheLimit) {
  // Program k counts in ctx[k] and tail-calls slot k + 1; slots 0..n-1 are filled.
  std::vector<std::unique_ptr<Executable>> progs;
  for (int k = 0; k < 40; ++k) {
    Prog p;
    count(p, static_cast<int16_t>(k));
    tail_call(p, array_, k + 1);
    p << I(Op::Mov64K, 0, 0, 0, 1000 + k) << I(Op::Exit);
    progs.push_back(build(p));
    ASSERT_TRUE(progs.back());
  }
  for (int n : {1, 2, 32, 33, 34, 35, 40}) {
    array_.slots.clear();
    for (int k = 0; k < n; ++k) array_.slots.push_back(progs[k].get());
    std::fill(std::begin(ctx_), std::end(ctx_), 0);
    // The chain ends at the last filled slot or after 33 tail calls (program 33 is the last).
    const int last = std::min(n - 1, static_cast<int>(kMaxTailCallCnt));
    EXPECT_EQ(run(*progs[0]), 1000u + last) << n << " slots";
    expect_no_fault();
    for (int k = 0; k < 40; ++k) EXPECT_EQ(ctx_[k], k <= last ? 1u : 0u) << n << " slots, " << k;
    EXPECT_EQ(rc_.tail_call_cnt, static_cast<uint32_t>(last));
  }
}

TEST_P(TailCall, EmptySlotOrIndexOutOfRangeFallsThrough) {
  Prog target;
  target << I(Op::Mov64K, 0, 0, 0, 7) << I(Op::Exit);
  auto t = build(target);
  array_.max_entries = 2;
  array_.slots = {t.get(), nullptr};
  for (int32_t index : {1, 2, -1}) {
    Prog p;
    tail_call(p, array_, index);
    p << I(Op::Add64K, 0, 0, 0, 55) << I(Op::Exit);
    auto e = build(p);
    ASSERT_TRUE(e);
    EXPECT_EQ(run(*e), 55u) << index;
    expect_no_fault();
    EXPECT_EQ(rc_.tail_call_cnt, 0u) << index;
  }
  // The index is a u32, as the kernel reads it: 1 << 32 is slot 0.
  Prog p;
  p.lddw(2, reinterpret_cast<uint64_t>(&array_)).lddw(3, 1ull << 32);
  p << I(Op::Call, 0, 0, 0, BPF_FUNC_tail_call) << I(Op::Add64K, 0, 0, 0, 55) << I(Op::Exit);
  auto e = build(p);
  ASSERT_TRUE(e);
  EXPECT_EQ(run(*e), 7u);
}

// A helper that puts ctx[47] (an Executable*) in slot 1 of the array in ctx[46].
uint64_t install(uint64_t ctx, uint64_t, uint64_t, uint64_t, uint64_t, RunContext*) {
  auto* c = reinterpret_cast<uint64_t*>(ctx);
  reinterpret_cast<ProgArray*>(c[46])->slots[1] = reinterpret_cast<const Executable*>(c[47]);
  return 0;
}

TEST_P(TailCall, AnUpdateIsSeenByTheNextTailCall) {
  helpers_.set(20, "install", install);
  Prog p0, a, b;
  p0 << I(Op::Mov64X, 6, 1) << I(Op::Call, 0, 0, 0, 20) << I(Op::Mov64X, 1, 6);
  tail_call(p0, array_, 1);
  p0 << I(Op::Mov64K, 0, 0, 0, 1) << I(Op::Exit);
  a << I(Op::Mov64K, 0, 0, 0, 10) << I(Op::Exit);
  b << I(Op::Mov64K, 0, 0, 0, 20) << I(Op::Exit);
  auto e0 = build(p0), ea = build(a), eb = build(b);
  ASSERT_TRUE(e0 && ea && eb);
  array_.slots = {e0.get(), nullptr};
  ctx_[46] = reinterpret_cast<uint64_t>(&array_);
  // Between runs and during a run (the helper installs the target just before the tail call).
  ctx_[47] = reinterpret_cast<uint64_t>(ea.get());
  EXPECT_EQ(run(*e0), 10u);
  ctx_[47] = reinterpret_cast<uint64_t>(eb.get());
  EXPECT_EQ(run(*e0), 20u);
  ctx_[47] = 0;
  EXPECT_EQ(run(*e0), 1u);
  expect_no_fault();
}

TEST_P(TailCall, TargetStartsWithTheCtxAndZeroedRegistersOnTheSameStack) {
  // The caller clobbers r1 and fills r0..r9 before the call; the target sees r1 = the run's ctx,
  // every other register zero, and a stack that did not grow.
  if (GetParam().engine == EngineKind::Llvm)
    GTEST_SKIP() << "the LLVM tier enters the target on a new stack (docs/llvm.md)";
  Prog p0, p1;
  p0 << I(Op::StxDW, 1, 10, 0);  // ctx[0] = the caller's r10
  for (uint8_t r = 4; r <= 9; ++r) p0 << I(Op::Mov64K, r, 0, 0, r * 3);
  p0 << I(Op::Mov64K, 0, 0, 0, 99);
  p0 << I(Op::StDW, 10, 0, -8, 1234) << I(Op::Mov64K, 1, 0, 0, 12345);
  tail_call(p0, array_, 1);
  p0.exit();
  p1 << I(Op::StxDW, 1, 10, 8);  // ctx[1] = the target's r10
  p1 << I(Op::Mov64X, 0, 2);
  for (uint8_t r = 3; r <= 9; ++r) p1 << I(Op::Or64X, 0, r);
  p1 << I(Op::StxDW, 1, 0, 16) << I(Op::Mov64K, 0, 0, 0, 5) << I(Op::Exit);
  auto e0 = build(p0), e1 = build(p1);
  ASSERT_TRUE(e0 && e1);
  array_.slots = {nullptr, e1.get()};
  EXPECT_EQ(run(*e0), 5u);
  expect_no_fault();
  EXPECT_EQ(ctx_[2], 0u) << "r2..r9 not zero in the target";
  const int64_t grew = static_cast<int64_t>(ctx_[0] - ctx_[1]);
  if (GetParam().engine == EngineKind::Interp)
    EXPECT_EQ(grew, 0);
  else  // the JIT re-enters from the same native stack pointer: only the saved registers differ
    EXPECT_LE(grew < 0 ? -grew : grew, 64);
}

TEST_P(TailCall, FromASubprogramTheCallerNeverResumes) {
  // main: call f; ctx[1] = 1; return 3.  f: r1 = ctx (kept in r6), tail call slot 1.
  Prog p0, p1;
  p0 << I(Op::Mov64X, 6, 1) << I(Op::CallLocal, 0, 1, 0, 3) << I(Op::StDW, 6, 0, 8, 1);
  p0 << I(Op::Mov64K, 0, 0, 0, 3) << I(Op::Exit);
  p0 << I(Op::StDW, 10, 0, -8, 5);  // f at pc 5
  tail_call(p0, array_, 1);
  p0 << I(Op::Mov64K, 0, 0, 0, 4) << I(Op::Exit);
  count(p1, 2);
  p1 << I(Op::Mov64K, 0, 0, 0, 9) << I(Op::Exit);
  auto e0 = build(p0), e1 = build(p1);
  ASSERT_TRUE(e0 && e1);
  array_.slots = {nullptr, e1.get()};
  EXPECT_EQ(run(*e0), 9u);
  expect_no_fault();
  EXPECT_EQ(ctx_[1], 0u);
  EXPECT_EQ(ctx_[2], 1u);
  // And again, with the slot empty: f returns 4 to main.
  array_.slots[1] = nullptr;
  EXPECT_EQ(run(*e0), 3u);
  EXPECT_EQ(ctx_[1], 1u);
}

TEST_P(TailCall, FaultInTheTargetNamesTheTargetsPc) {
  if (!GetParam().opts.checked) GTEST_SKIP() << "checked mode only";
  Prog p0, p1;
  p0 << I(Op::StDW, 10, 0, -8, 1234);
  tail_call(p0, array_, 1);
  p0.exit();
  p1 << I(Op::LdxDW, 0, 10, -8);  // the caller's stack is not carried over: zeroed
  p1 << I(Op::StxDW, 1, 0, 0);
  p1 << I(Op::Mov64K, 2, 0, 0, 0) << I(Op::LdxDW, 0, 2, 0) << I(Op::Exit);  // pc 3 faults
  auto e0 = build(p0), e1 = build(p1);
  ASSERT_TRUE(e0 && e1);
  array_.slots = {nullptr, e1.get()};
  ctx_[0] = 77;
  EXPECT_EQ(run(*e0), 0u);
  EXPECT_EQ(rc_.fault.kind, FaultKind::OutOfBounds);
  EXPECT_EQ(rc_.fault.pc, 3u);
  EXPECT_EQ(ctx_[0], 0u);
}

TEST_P(TailCall, TheBudgetCoversTheWholeChain) {
  if (!GetParam().opts.insn_budget) GTEST_SKIP() << "budget mode only";
  // The self-calling program runs 6 instructions per hop (lddw once): a budget of 6 * 10 + 2
  // stops in the 11th program at its third instruction.
  Prog p;
  count(p, 0);
  tail_call(p, array_, 0);
  p.exit();
  ExecOptions o = GetParam().opts;
  o.insn_budget = 6 * 10 + 2;
  auto e = build(p, &o);
  ASSERT_TRUE(e);
  array_.slots = {e.get()};
  EXPECT_EQ(run(*e), 0u);
  EXPECT_EQ(rc_.fault.kind, FaultKind::Budget);
  EXPECT_EQ(rc_.fault.pc, 2u);
  EXPECT_EQ(rc_.insns_executed, o.insn_budget);
  EXPECT_EQ(ctx_[0], 10u);
  EXPECT_EQ(rc_.tail_call_cnt, 10u);
}

TEST_P(TailCall, TargetInAnotherModeIsAnEmptySlot) {
  // A checked run must never continue unchecked (nor under another budget).
  Prog p0, p1;
  tail_call(p0, array_, 1);
  p0 << I(Op::Add64K, 0, 0, 0, 1) << I(Op::Exit);
  p1 << I(Op::Mov64K, 0, 0, 0, 50) << I(Op::Exit);
  ExecOptions other = GetParam().opts;
  other.checked = !other.checked;
  auto e0 = build(p0), e1 = build(p1, &other);
  ASSERT_TRUE(e0 && e1);
  EXPECT_FALSE(e0->tail_call_compatible(*e1));
  array_.slots = {nullptr, e1.get()};
  EXPECT_EQ(run(*e0), 1u);
  EXPECT_EQ(rc_.tail_call_cnt, 0u);
  other = GetParam().opts;
  other.insn_budget += 1;
  auto e2 = build(p1, &other);
  array_.slots[1] = e2.get();
  EXPECT_EQ(run(*e0), 1u);
}

TEST_P(TailCall, TargetOfTheOtherEngine) {
  // Interpreter -> JIT -> interpreter (or the reverse), in the same mode.
  EngineKind other = GetParam().engine == EngineKind::Interp ? EngineKind::Jit : EngineKind::Interp;
  Prog p0, p1, p2;
  count(p0, 0);
  tail_call(p0, array_, 1);
  p0.exit();
  count(p1, 1);
  tail_call(p1, array_, 2);
  p1.exit();
  count(p2, 2);
  p2 << I(Op::Mov64K, 0, 0, 0, 8) << I(Op::Exit);
  auto e0 = build(p0), e1 = build(p1, nullptr, &other), e2 = build(p2);
  ASSERT_TRUE(e0 && e1 && e2);
  array_.slots = {e0.get(), e1.get(), e2.get()};
  EXPECT_EQ(run(*e0), 8u);
  expect_no_fault();
  EXPECT_EQ(ctx_[0] + ctx_[1] + ctx_[2], 3u);
  EXPECT_EQ(rc_.tail_call_cnt, 2u);
}

INSTANTIATE_TEST_SUITE_P(Modes, TailCall, ::testing::ValuesIn(kModes),
                         [](const ::testing::TestParamInfo<Mode>& i) { return i.param.name; });

TEST(TailCallRefusal, WithoutALookupCall12IsAnUnknownHelper) {
  Prog p;
  p << I(Op::Call, 0, 0, 0, BPF_FUNC_tail_call) << I(Op::Exit);
  for (EngineKind e : {EngineKind::Interp, EngineKind::Jit}) {
    auto exe = compile(e, p.insns, test_helpers(), {});
    ASSERT_FALSE(exe);
    EXPECT_EQ(exe.status().err(), EINVAL);
    EXPECT_EQ(exe.status().message(), "invalid func unknown#12 (insn 0)");
  }
}

// A callback cannot leave its helper by a tail call: the run stops with a fault at the call.
uint64_t call_back(uint64_t fn, uint64_t ctx, uint64_t, uint64_t, uint64_t, RunContext* rc) {
  if (!rc->call_function) return static_cast<uint64_t>(-EOPNOTSUPP);
  return rc->call_function(rc, fn, ctx, 0, 0, 0, 0);
}

TEST(TailCallRefusal, InsideACallbackFaults) {
  HelperTable h = tail_helpers();
  h.set(21, "call_back", call_back);
  for (EngineKind e : {EngineKind::Interp, EngineKind::Jit}) {
    ProgArray array;
    Prog p;
    p.lddw(1, 0, BPF_PSEUDO_FUNC);  // -> the callback
    p << I(Op::Mov64K, 2, 0, 0, 0) << I(Op::Call, 0, 0, 0, 21) << I(Op::Exit);
    const size_t cb = p.size();
    tail_call(p, array, 0);
    p << I(Op::Mov64K, 0, 0, 0, 1) << I(Op::Exit);
    p.insns[0].imm = static_cast<int32_t>(cb - 1);
    auto exe = compile(e, p.insns, h, {});
    ASSERT_TRUE(exe) << exe.status().message();
    array.slots = {exe->get()};
    RunContext rc;
    EXPECT_EQ((*exe)->run(rc, 0), 0u);
    EXPECT_EQ(rc.fault.kind, FaultKind::Unsupported);
    EXPECT_EQ(rc.fault.err, EOPNOTSUPP);
    EXPECT_EQ(rc.fault.pc, cb + 3);
    EXPECT_EQ(describe(rc.fault), "pc " + std::to_string(cb + 3) + ": tail call inside a callback");
    EXPECT_EQ(rc.tail_call_cnt, 0u);
  }
}

uint64_t outer_hook(RunContext*, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t) {
  return 0;
}

TEST(TailCallHook, ATailCallGivesTheCallersHookBack) {
  // A program a helper may call back installs its hook for the run; a tail call leaves it as its
  // exit would: the run context's hook (here an outer run's) is as before.
  HelperTable h = tail_helpers();
  for (EngineKind e : {EngineKind::Interp, EngineKind::Jit}) {
    ProgArray array;
    Prog p, t;
    p << I(Op::Mov64X, 6, 1);
    p.lddw(1, 0, BPF_PSEUDO_FUNC);  // -> the callback
    p << I(Op::Mov64K, 2, 0, 0, 0) << I(Op::Call, 0, 0, 0, 5) << I(Op::Mov64X, 1, 6);
    tail_call(p, array, 0);
    p << I(Op::Mov64K, 0, 0, 0, 1) << I(Op::Exit);
    p.insns[1].imm = static_cast<int32_t>(p.size() - 2);
    p << I(Op::Mov64K, 0, 0, 0, 0) << I(Op::Exit);
    t << I(Op::Mov64K, 0, 0, 0, 50) << I(Op::Exit);
    auto exe = compile(e, p.insns, h, {}), target = compile(e, t.insns, h, {});
    ASSERT_TRUE(exe && target);
    array.slots = {target->get()};
    RunContext rc;
    int state = 0;
    rc.call_function = &outer_hook;
    rc.engine_state = &state;
    EXPECT_EQ((*exe)->run(rc, 0), 50u);
    EXPECT_EQ(rc.fault.kind, FaultKind::None);
    EXPECT_EQ(rc.call_function, &outer_hook);
    EXPECT_EQ(rc.engine_state, &state);
  }
}

}  // namespace
}  // namespace bpfbox::vm::jit::test
