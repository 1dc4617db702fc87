// Checked mode (every memory access against the run's regions) and the instruction budget.
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "vm_test_util.hpp"

namespace bpfbox::vm::test {
namespace {

std::string hex(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);
  return buf;
}

struct Checked {
  std::unique_ptr<Executable> exe;
  RunContext rc;
  uint64_t r0 = 0;
};

// Runs `prog` checked with r1 = base of `mem` (a region with `access`), r2 = base of `other`.
Checked run_checked(const std::vector<Insn>& prog, std::vector<uint8_t>& mem,
                    uint8_t access = kReadWrite, uint64_t budget = 0) {
  Checked c;
  c.exe = compile_ok(prog, {}, ExecOptions{true, budget});
  c.rc.add_region(mem.data(), mem.size(), access, "mem");
  c.r0 = c.exe->run(c.rc, reinterpret_cast<uint64_t>(mem.data()), mem.size());
  return c;
}

TEST(Checked, OutOfBoundsLoadFaultsWithPcAddressAndSize) {
  const struct {
    Op op;
    uint32_t size;
  } loads[] = {{Op::LdxB, 1},     {Op::LdxH, 2},     {Op::LdxW, 4},     {Op::LdxDW, 8},
               {Op::LdxsB, 1},    {Op::LdxsH, 2},    {Op::LdxsW, 4},    {Op::LoadAcqB, 1},
               {Op::LoadAcqH, 2}, {Op::LoadAcqW, 4}, {Op::LoadAcqDW, 8}};
  for (const auto& l : loads) {
    SCOPED_TRACE(isa::name(l.op));
    std::vector<uint8_t> mem(16, 0x55);
    // The last `size` bytes are fine; one byte further is not.
    const int16_t last = static_cast<int16_t>(16 - l.size);
    Prog ok;
    ok << mov(0, 1) << I(l.op, 0, 1, last) << exit_insn();
    Checked c = run_checked(ok.insns, mem);
    EXPECT_EQ(c.rc.fault.kind, FaultKind::None) << describe(c.rc.fault, &c.rc);

    Prog bad;
    bad << mov(0, 1) << mov(3, 0) << I(l.op, 0, 1, static_cast<int16_t>(last + 1)) << mov(0, 7)
        << exit_insn();
    c = run_checked(bad.insns, mem);
    EXPECT_EQ(c.r0, 0u);
    EXPECT_EQ(c.rc.fault.kind, FaultKind::OutOfBounds);
    EXPECT_EQ(c.rc.fault.err, EFAULT);
    EXPECT_EQ(c.rc.fault.pc, 2u);
    EXPECT_EQ(c.rc.fault.addr, reinterpret_cast<uint64_t>(mem.data()) + last + 1);
    EXPECT_EQ(c.rc.fault.size, l.size);
    EXPECT_EQ(c.rc.fault.access, kRead);
    const std::string msg = describe(c.rc.fault, &c.rc);
    EXPECT_NE(
        msg.find("pc 2: load of " + std::to_string(l.size) + " bytes at " + hex(c.rc.fault.addr)),
        std::string::npos)
        << msg;
    EXPECT_NE(msg.find("(stack, mem)"), std::string::npos) << msg;
  }
}

TEST(Checked, OutOfBoundsStoreFaultsAndStopsTheRun) {
  const struct {
    Op op;
    uint32_t size;
  } stores[] = {{Op::StB, 1},       {Op::StH, 2},       {Op::StW, 4},       {Op::StDW, 8},
                {Op::StxB, 1},      {Op::StxH, 2},      {Op::StxW, 4},      {Op::StxDW, 8},
                {Op::StoreRelB, 1}, {Op::StoreRelH, 2}, {Op::StoreRelW, 4}, {Op::StoreRelDW, 8}};
  for (const auto& s : stores) {
    SCOPED_TRACE(isa::name(s.op));
    std::vector<uint8_t> mem(16, 0);
    // mem[0] = 1; store just below mem; mem[1] = 1 (never runs).
    const uint8_t src = isa::info(s.op).kind == isa::Kind::St ? 0 : 2;
    Prog p;
    p << I(Op::StB, 1, 0, 0, 1) << mov(2, -1) << I(s.op, 1, src, -1, 0) << I(Op::StB, 1, 0, 1, 1)
      << exit_insn();
    Checked c = run_checked(p.insns, mem);
    EXPECT_EQ(c.rc.fault.kind, FaultKind::OutOfBounds);
    EXPECT_EQ(c.rc.fault.err, EFAULT);
    EXPECT_EQ(c.rc.fault.pc, 2u);
    EXPECT_EQ(c.rc.fault.addr, reinterpret_cast<uint64_t>(mem.data()) - 1);
    EXPECT_EQ(c.rc.fault.size, s.size);
    EXPECT_EQ(c.rc.fault.access, kWrite);
    EXPECT_EQ(mem[0], 1);
    EXPECT_EQ(mem[1], 0);
    EXPECT_NE(describe(c.rc.fault, &c.rc).find("pc 2: store of"), std::string::npos);
  }
}

TEST(Checked, OutOfBoundsAtomicFaults) {
  const Op atomics[] = {
      Op::Atomic32Add,  Op::Atomic32FetchAdd, Op::Atomic32Or,   Op::Atomic32FetchOr,
      Op::Atomic32And,  Op::Atomic32FetchAnd, Op::Atomic32Xor,  Op::Atomic32FetchXor,
      Op::Atomic32Xchg, Op::Atomic32Cmpxchg,  Op::Atomic64Add,  Op::Atomic64FetchAdd,
      Op::Atomic64Or,   Op::Atomic64FetchOr,  Op::Atomic64And,  Op::Atomic64FetchAnd,
      Op::Atomic64Xor,  Op::Atomic64FetchXor, Op::Atomic64Xchg, Op::Atomic64Cmpxchg};
  for (Op op : atomics) {
    SCOPED_TRACE(isa::name(op));
    std::vector<uint8_t> mem(16, 0);
    const uint32_t size = isa::info(op).size;
    Prog p;
    p << mov(2, 1) << I(op, 1, 2, static_cast<int16_t>(16 - size)) << I(op, 1, 2, 14)
      << exit_insn();
    Checked c = run_checked(p.insns, mem);
    EXPECT_EQ(c.rc.fault.kind, FaultKind::OutOfBounds);
    EXPECT_EQ(c.rc.fault.pc, 2u);  // the first, in bounds, ran
    EXPECT_EQ(c.rc.fault.addr, reinterpret_cast<uint64_t>(mem.data()) + 14);
    EXPECT_EQ(c.rc.fault.size, size);
    EXPECT_EQ(c.rc.fault.access, kReadWrite);
  }
}

TEST(Checked, StoreToReadOnlyRegionFaults) {
  std::vector<uint8_t> ctx(32, 0x11);
  // Loads are fine.
  Prog load;
  load << I(Op::LdxDW, 0, 1, 24) << exit_insn();
  Checked c = run_checked(load.insns, ctx, kRead);
  EXPECT_EQ(c.rc.fault.kind, FaultKind::None);
  EXPECT_EQ(c.r0, 0x1111111111111111ull);
  // Stores, and atomics, are not.
  for (Insn bad : {I(Op::StW, 1, 0, 4, 0), I(Op::StxB, 1, 2, 31), I(Op::Atomic64Add, 1, 2, 8),
                   I(Op::StoreRelH, 1, 2, 0)}) {
    Prog p;
    p << mov(0, 3) << bad << exit_insn();
    c = run_checked(p.insns, ctx, kRead);
    EXPECT_EQ(c.r0, 0u);
    EXPECT_EQ(c.rc.fault.kind, FaultKind::ReadOnly);
    EXPECT_EQ(c.rc.fault.err, EACCES);
    EXPECT_EQ(c.rc.fault.pc, 1u);
    EXPECT_EQ(c.rc.fault.addr, reinterpret_cast<uint64_t>(ctx.data()) + bad.off);
    const std::string msg = describe(c.rc.fault, &c.rc);
    EXPECT_NE(msg.find("pc 1:"), std::string::npos) << msg;
    EXPECT_NE(msg.find("read-only memory in mem"), std::string::npos) << msg;
  }
  EXPECT_EQ(ctx[4], 0x11);
}

TEST(Checked, EveryRegionKindAllowsItsWholeRange) {
  // ctx (read-only), packet, map value, given memory: loads of the first and last byte of each,
  // stores into the writable ones, and the stack at both ends.
  std::vector<uint8_t> ctx(24, 1), pkt(60, 2), value(8, 3), given(100, 4);
  RunContext rc;
  rc.add_region(ctx.data(), ctx.size(), kRead, "ctx");
  rc.add_region(pkt.data(), pkt.size(), kReadWrite, "packet");
  rc.add_region(value.data(), value.size(), kReadWrite, "map value");
  rc.add_region(given.data(), given.size(), kReadWrite, "memory");
  Prog p;
  p << mov(0, 0);
  p.lddw(2, reinterpret_cast<uint64_t>(ctx.data()));
  p << I(Op::LdxB, 3, 2, 0) << I(Op::Add64X, 0, 3) << I(Op::LdxB, 3, 2, 23) << I(Op::Add64X, 0, 3);
  for (std::vector<uint8_t>* v : {&pkt, &value, &given}) {
    p.lddw(2, reinterpret_cast<uint64_t>(v->data()));
    const int16_t last = static_cast<int16_t>(v->size() - 1);
    p << I(Op::LdxB, 3, 2, 0) << I(Op::Add64X, 0, 3) << I(Op::LdxB, 3, 2, last)
      << I(Op::Add64X, 0, 3) << I(Op::StB, 2, 0, last, 9) << I(Op::StB, 2, 0, 0, 9);
  }
  // The frame's whole stack: from r10-512 to r10-1.
  p << I(Op::StDW, 10, 0, -8, 5) << I(Op::StDW, 10, 0, -512, 6) << I(Op::LdxDW, 3, 10, -8)
    << I(Op::Add64X, 0, 3) << I(Op::LdxDW, 3, 10, -512) << I(Op::Add64X, 0, 3) << exit_insn();
  auto exe = compile_ok(p.insns, {}, ExecOptions{true, 0});
  EXPECT_EQ(exe->run(rc, 0), 1u + 1 + 2 + 2 + 3 + 3 + 4 + 4 + 5 + 6);
  EXPECT_EQ(rc.fault.kind, FaultKind::None) << describe(rc.fault, &rc);
  EXPECT_EQ(pkt[59], 9);
  EXPECT_EQ(value[0], 9);
  EXPECT_EQ(given[99], 9);
}

TEST(Checked, StackBoundsAndNullPointers) {
  std::vector<uint8_t> mem(8, 0);
  // Above the top of the stack.
  Prog above;
  above << I(Op::LdxDW, 0, 10, 0) << exit_insn();
  Checked c = run_checked(above.insns, mem);
  EXPECT_EQ(c.rc.fault.kind, FaultKind::OutOfBounds);
  EXPECT_EQ(c.rc.fault.addr, c.rc.stack_base + c.rc.stack_size);
  // Below the bottom of the frame: the stack of frames not entered is not the run's.
  Prog below;
  below << I(Op::StDW, 10, 0, -520, 1) << mov(0, 0) << exit_insn();
  c = run_checked(below.insns, mem);
  EXPECT_EQ(c.rc.fault.kind, FaultKind::OutOfBounds);
  EXPECT_EQ(c.rc.fault.addr, c.rc.stack_base - 8);
  EXPECT_EQ(c.rc.stack_size, 512u);
  // A straddling access names where it starts.
  Prog straddle;
  straddle << I(Op::LdxDW, 0, 10, -4) << exit_insn();
  c = run_checked(straddle.insns, mem);
  EXPECT_EQ(c.rc.fault.kind, FaultKind::OutOfBounds);
  EXPECT_NE(describe(c.rc.fault, &c.rc).find("starts in stack"), std::string::npos)
      << describe(c.rc.fault, &c.rc);
  // NULL.
  Prog null;
  null << mov(1, 0) << I(Op::LdxW, 0, 1, 0) << exit_insn();
  c = run_checked(null.insns, mem);
  EXPECT_EQ(c.rc.fault.kind, FaultKind::OutOfBounds);
  EXPECT_EQ(c.rc.fault.addr, 0u);
  EXPECT_EQ(c.rc.fault.pc, 1u);
}

TEST(Checked, CalleeMayUseItsCallersFramesButNotTheOtherWayRound) {
  std::vector<uint8_t> mem(8, 0);
  // main: r1 = r10 - 8; call f; r0 = *(r10 - 8); exit.  f: *(r1) = 77 (the caller's frame); exit.
  Prog ok;
  ok << movr(1, 10) << I(Op::Add64K, 1, 0, 0, -8) << I(Op::CallLocal, 0, 1, 0, 2)
     << I(Op::LdxDW, 0, 10, -8) << exit_insn() << I(Op::StDW, 1, 0, 0, 77) << exit_insn();
  Checked c = run_checked(ok.insns, mem);
  EXPECT_EQ(c.rc.fault.kind, FaultKind::None) << describe(c.rc.fault, &c.rc);
  EXPECT_EQ(c.r0, 77u);
  // f returns a pointer into its own frame; once f has returned the caller may not use it.
  Prog stale;
  stale << I(Op::CallLocal, 0, 1, 0, 2) << I(Op::LdxDW, 0, 0, 0) << exit_insn()  // 0..2
        << I(Op::StDW, 10, 0, -8, 5) << movr(0, 10) << I(Op::Add64K, 0, 0, 0, -8)
        << I(Op::LdxDW, 2, 0, 0) << exit_insn();  // 3..7: f reads its own slot fine
  c = run_checked(stale.insns, mem);
  EXPECT_EQ(c.rc.fault.kind, FaultKind::OutOfBounds);
  EXPECT_EQ(c.rc.fault.pc, 1u);
  // A callee's frame starts zeroed even when an earlier callee at the same depth wrote it.
  // main calls g (writes 99 at its r10-8) then h (reads its r10-8, at the same address).
  Prog reuse;
  reuse << I(Op::CallLocal, 0, 1, 0, 2) << I(Op::CallLocal, 0, 1, 0, 3) << exit_insn()  // 0..2
        << I(Op::StDW, 10, 0, -8, 99) << exit_insn()                                    // 3..4: g
        << I(Op::LdxDW, 0, 10, -8) << exit_insn();                                      // 5..6: h
  auto exe = compile_ok(reuse.insns, {}, ExecOptions{true, 0});
  RunContext rc;
  EXPECT_EQ(exe->run(rc, 0), 0u);
  EXPECT_EQ(rc.fault.kind, FaultKind::None) << describe(rc.fault, &rc);
}

TEST(Checked, FaultIsClearedByTheNextRun) {
  std::vector<uint8_t> mem(8, 0);
  Prog p;
  p << I(Op::Jeq64K, 2, 0, 1, 0) << I(Op::LdxDW, 0, 1, 8) << mov(0, 4) << exit_insn();
  auto exe = compile_ok(p.insns, {}, ExecOptions{true, 0});
  RunContext rc;
  rc.add_region(mem.data(), mem.size(), kReadWrite, "mem");
  EXPECT_EQ(exe->run(rc, reinterpret_cast<uint64_t>(mem.data()), 8), 0u);
  EXPECT_EQ(rc.fault.kind, FaultKind::OutOfBounds);
  EXPECT_EQ(exe->run(rc, reinterpret_cast<uint64_t>(mem.data()), 0), 4u);
  EXPECT_EQ(rc.fault.kind, FaultKind::None);
}

TEST(Budget, StopsAnInfiniteLoop) {
  // mov r0, 1; ja -1 (to itself) never ends without a budget.
  Prog p;
  p << mov(0, 1) << I(Op::Ja, 0, 0, -1);
  for (bool checked : {false, true}) {
    auto exe = compile_ok(p.insns, {}, ExecOptions{checked, 1000});
    RunContext rc;
    EXPECT_EQ(exe->run(rc, 0), 0u);
    EXPECT_EQ(rc.fault.kind, FaultKind::Budget);
    EXPECT_EQ(rc.fault.err, E2BIG);
    EXPECT_EQ(rc.fault.pc, 1u);
    EXPECT_EQ(rc.insns_executed, 1000u);
    const std::string msg = describe(rc.fault, &rc);
    EXPECT_NE(msg.find("pc 1: instruction budget exhausted after 1000"), std::string::npos) << msg;
  }
}

TEST(Budget, CountsExactlyAndAllowsAProgramThatFits) {
  // 4 instructions (lddw counts once).
  Prog p;
  p.lddw(0, 5) << I(Op::Add64K, 0, 0, 0, 1) << I(Op::Ja, 0, 0, 0) << exit_insn();
  auto exact = compile_ok(p.insns, {}, ExecOptions{false, 4});
  RunContext rc;
  EXPECT_EQ(exact->run(rc, 0), 6u);
  EXPECT_EQ(rc.fault.kind, FaultKind::None);
  EXPECT_EQ(rc.insns_executed, 4u);
  auto short_by_one = compile_ok(p.insns, {}, ExecOptions{false, 3});
  EXPECT_EQ(short_by_one->run(rc, 0), 0u);
  EXPECT_EQ(rc.fault.kind, FaultKind::Budget);
  EXPECT_EQ(rc.fault.pc, 4u);  // the exit never ran
  EXPECT_EQ(rc.insns_executed, 3u);
}

TEST(Budget, StopsUnboundedRecursionBeforeItsDepthAndCountsAcrossFrames) {
  // f: call f — with a budget smaller than the depth limit's cost the budget ends it first;
  // with a large one the depth limit does.
  Prog p;
  p << I(Op::CallLocal, 0, 1, 0, -1) << exit_insn();
  auto small = compile_ok(p.insns, {}, ExecOptions{true, 3});
  RunContext rc;
  small->run(rc, 0);
  EXPECT_EQ(rc.fault.kind, FaultKind::Budget);
  auto large = compile_ok(p.insns, {}, ExecOptions{true, 100});
  large->run(rc, 0);
  EXPECT_EQ(rc.fault.kind, FaultKind::CallDepth);
  EXPECT_EQ(rc.insns_executed, 8u);  // 7 calls ran; the 8th faulted as it executed
}

}  // namespace
}  // namespace bpfbox::vm::test
