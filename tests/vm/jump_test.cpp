// JMP and JMP32: every condition with unsigned and signed edge values, both operand forms, and
// the unconditional jumps (ja, gotol, may_goto).
#include <cstdint>
#include <string>

#include "vm_test_util.hpp"

namespace bpfbox::vm::test {
namespace {

// r0 = 1 when the jump is taken, else 0.
bool taken_x(Op op, uint64_t a, uint64_t b) {
  Prog p;
  p.lddw(1, a).lddw(2, b) << mov(0, 1) << I(op, 1, 2, 1) << mov(0, 0) << exit_insn();
  return run_r0(p.insns) == 1;
}
bool taken_k(Op op, uint64_t a, int32_t imm) {
  Prog p;
  p.lddw(1, a) << mov(0, 1) << I(op, 1, 0, 1, imm) << mov(0, 0) << exit_insn();
  return run_r0(p.insns) == 1;
}

struct Cond {
  const char* name;
  Op k64, x64, k32, x32;
  // Whether the jump is taken for each pair below.
  bool want64[5];
  bool want32[5];
};

// 64-bit pairs, and what their low halves are as 32-bit pairs:
//   0: -1, 1                      32: -1, 1
//   1: INT64_MIN, INT64_MAX       32: 0, -1
//   2: 5, 5                       32: 5, 5
//   3: 1 << 32, 0                 32: 0, 0
//   4: 0x80000000, 1              32: INT32_MIN, 1
constexpr uint64_t kA[5] = {~0ull, 0x8000000000000000ull, 5, 0x100000000ull, 0x80000000ull};
constexpr uint64_t kB[5] = {1, 0x7fffffffffffffffull, 5, 0, 1};

#define OPS(n) #n, Op::n##64K, Op::n##64X, Op::n##32K, Op::n##32X
const Cond kConds[] = {
    {OPS(Jeq), {0, 0, 1, 0, 0}, {0, 0, 1, 1, 0}},  {OPS(Jne), {1, 1, 0, 1, 1}, {1, 1, 0, 0, 1}},
    {OPS(Jgt), {1, 1, 0, 1, 1}, {1, 0, 0, 0, 1}},  {OPS(Jge), {1, 1, 1, 1, 1}, {1, 0, 1, 1, 1}},
    {OPS(Jlt), {0, 0, 0, 0, 0}, {0, 1, 0, 0, 0}},  {OPS(Jle), {0, 0, 1, 0, 0}, {0, 1, 1, 1, 0}},
    {OPS(Jset), {1, 0, 1, 0, 0}, {1, 0, 1, 0, 0}}, {OPS(Jsgt), {0, 0, 0, 1, 1}, {0, 1, 0, 0, 0}},
    {OPS(Jsge), {0, 0, 1, 1, 1}, {0, 1, 1, 1, 0}}, {OPS(Jslt), {1, 1, 0, 0, 0}, {1, 0, 0, 0, 1}},
    {OPS(Jsle), {1, 1, 1, 0, 0}, {1, 0, 1, 1, 1}},
};
#undef OPS

TEST(Jump, EveryConditionWithEdgeValues) {
  for (const Cond& c : kConds) {
    for (int i = 0; i < 5; ++i) {
      SCOPED_TRACE(std::string(c.name) + " pair " + std::to_string(i));
      EXPECT_EQ(taken_x(c.x64, kA[i], kB[i]), c.want64[i]) << "64-bit, register";
      if (static_cast<int64_t>(kB[i]) >= INT32_MIN && static_cast<int64_t>(kB[i]) <= INT32_MAX) {
        EXPECT_EQ(taken_k(c.k64, kA[i], static_cast<int32_t>(kB[i])), c.want64[i])
            << "64-bit, immediate";
      }
      EXPECT_EQ(taken_x(c.x32, kA[i], kB[i]), c.want32[i]) << "32-bit, register";
      EXPECT_EQ(taken_k(c.k32, kA[i], static_cast<int32_t>(static_cast<uint32_t>(kB[i]))),
                c.want32[i])
          << "32-bit, immediate";
    }
  }
}

TEST(Jump, ImmediateIsSignExtendedFor64BitCompares) {
  // imm -1 stands for 0xffffffffffffffff, not 0xffffffff.
  EXPECT_TRUE(taken_k(Op::Jeq64K, ~0ull, -1));
  EXPECT_FALSE(taken_k(Op::Jeq64K, 0xffffffffull, -1));
  EXPECT_TRUE(taken_k(Op::Jlt64K, 0xffffffffull, -1));
  EXPECT_FALSE(taken_k(Op::Jgt64K, 0xffffffffull, -1));
  EXPECT_TRUE(taken_k(Op::Jeq32K, 0xabcdef00ffffffffull, -1));
  EXPECT_TRUE(taken_k(Op::Jsgt64K, 0, -1));
  EXPECT_FALSE(taken_k(Op::Jsgt32K, 0x00000000ffffffffull, -1));  // -1 > -1 is false
}

TEST(Jump, BackwardJumpsLoop) {
  // r0 = 0; r1 = 10; loop: r0 += 3; r1 -= 1; if r1 != 0 goto loop; exit
  Prog p;
  p << mov(0, 0) << mov(1, 10) << I(Op::Add64K, 0, 0, 0, 3) << I(Op::Sub64K, 1, 0, 0, 1)
    << I(Op::Jne64K, 1, 0, -3, 0) << exit_insn();
  EXPECT_EQ(run_r0(p.insns), 30u);
}

TEST(Jump, JaAndGotol) {
  // ja +1 skips one instruction; gotol's offset is in imm.
  Prog p;
  p << mov(0, 1) << I(Op::Ja, 0, 0, 1) << mov(0, 2) << I(Op::Gotol, 0, 0, 0, 1) << mov(0, 3)
    << I(Op::Add64K, 0, 0, 0, 10) << exit_insn();
  EXPECT_EQ(run_r0(p.insns), 11u);
  // A backward gotol.
  Prog q;
  q << mov(0, 0) << I(Op::Ja, 0, 0, 2) << I(Op::Add64K, 0, 0, 0, 5) << exit_insn()
    << I(Op::Add64K, 0, 0, 0, 1) << I(Op::Gotol, 0, 0, 0, -4);
  EXPECT_EQ(run_r0(q.insns), 6u);
}

TEST(Jump, MayGotoFallsThroughUntilTheLoopBudgetIsSpent) {
  // loop: may_goto +2; r0 += 1; ja loop; exit: counts the fall-throughs.
  Prog p;
  p << mov(0, 0) << I(Op::MayGoto, 0, 0, 2) << I(Op::Add64K, 0, 0, 0, 1) << I(Op::Ja, 0, 0, -3)
    << exit_insn();
  auto exe = compile_ok(p.insns);
  RunContext rc;
  EXPECT_EQ(exe->run(rc, 0), static_cast<uint64_t>(BPFBOX_MAX_LOOPS));
  // Each run starts with a full counter.
  EXPECT_EQ(exe->run(rc, 0), static_cast<uint64_t>(BPFBOX_MAX_LOOPS));
}

TEST(Jump, MayGotoCounterIsPerFrame) {
  // main: call f twice and sum; f: loop with may_goto, counting. Each call gets a full counter,
  // as the kernel initialises the counter in every subprogram's prologue.
  Prog p;
  p << I(Op::CallLocal, 0, 1, 0, 4)  // 0: call f (pc 5)
    << movr(6, 0)                    // 1
    << I(Op::CallLocal, 0, 1, 0, 2)  // 2: call f
    << I(Op::Add64X, 0, 6)           // 3
    << exit_insn()                   // 4
    << mov(0, 0)                     // 5: f
    << I(Op::MayGoto, 0, 0, 2)       // 6
    << I(Op::Add64K, 0, 0, 0, 1)     // 7
    << I(Op::Ja, 0, 0, -3)           // 8
    << exit_insn();                  // 9
  auto exe = compile_ok(p.insns);
  RunContext rc;
  EXPECT_EQ(exe->run(rc, 0), 2ull * BPFBOX_MAX_LOOPS);
}

}  // namespace
}  // namespace bpfbox::vm::test
