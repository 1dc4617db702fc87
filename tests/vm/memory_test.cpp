// Loads, stores, atomics, load-acquire/store-release, lddw and the legacy packet loads.
#include <cstdint>
#include <cstring>
#include <vector>

#include "vm_test_util.hpp"

namespace bpfbox::vm::test {
namespace {

std::vector<uint8_t> bytes(std::initializer_list<uint8_t> b) {
  return std::vector<uint8_t>(b);
}

uint64_t read64(const std::vector<uint8_t>& m, size_t off) {
  uint64_t v;
  std::memcpy(&v, m.data() + off, 8);
  return v;
}
uint32_t read32(const std::vector<uint8_t>& m, size_t off) {
  uint32_t v;
  std::memcpy(&v, m.data() + off, 4);
  return v;
}
void write64(std::vector<uint8_t>& m, size_t off, uint64_t v) {
  std::memcpy(m.data() + off, &v, 8);
}

const std::vector<uint8_t> kMem = bytes({0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x01, 0x02,
                                         0x03, 0x04, 0x05, 0x06, 0x07, 0x08});

uint64_t load(Op op, int16_t off) {
  return run_r0((Prog{} << I(op, 0, 1, off) << exit_insn()).insns, kMem);
}

TEST(Memory, LoadsZeroExtend) {
  EXPECT_EQ(load(Op::LdxB, 0), 0x81u);
  EXPECT_EQ(load(Op::LdxH, 0), 0x8281u);
  EXPECT_EQ(load(Op::LdxW, 0), 0x84838281u);
  EXPECT_EQ(load(Op::LdxDW, 0), 0x8887868584838281ull);
  EXPECT_EQ(load(Op::LdxW, 9), 0x05040302u);  // unaligned
  EXPECT_EQ(load(Op::LdxDW, 8), 0x0807060504030201ull);
}

TEST(Memory, SignExtendingLoadsOfEveryWidth) {
  EXPECT_EQ(load(Op::LdxsB, 0), 0xffffffffffffff81ull);
  EXPECT_EQ(load(Op::LdxsH, 0), 0xffffffffffff8281ull);
  EXPECT_EQ(load(Op::LdxsW, 0), 0xffffffff84838281ull);
  EXPECT_EQ(load(Op::LdxsB, 8), 0x01u);  // positive values stay positive
  EXPECT_EQ(load(Op::LdxsH, 8), 0x0201u);
  EXPECT_EQ(load(Op::LdxsW, 8), 0x04030201u);
}

TEST(Memory, StoresOfEveryWidthAndForm) {
  std::vector<uint8_t> zero(32, 0);
  // Immediate stores: the immediate truncated (stdw: sign-extended).
  Prog p;
  p << I(Op::StB, 1, 0, 0, 0x1ff) << I(Op::StH, 1, 0, 2, 0x12345) << I(Op::StW, 1, 0, 4, -2)
    << I(Op::StDW, 1, 0, 8, -3) << mov(0, 0) << exit_insn();
  Outcome o = run_all(p.insns, zero);
  EXPECT_EQ(o.mem[0], 0xff);
  EXPECT_EQ(o.mem[1], 0);
  EXPECT_EQ(o.mem[2] | o.mem[3] << 8, 0x2345);
  EXPECT_EQ(read32(o.mem, 4), 0xfffffffeu);
  EXPECT_EQ(read64(o.mem, 8), static_cast<uint64_t>(-3));
  // Register stores: the low bytes of the register.
  Prog q;
  q.lddw(2, 0x1122334455667788ull);
  q << I(Op::StxB, 1, 2, 0) << I(Op::StxH, 1, 2, 2) << I(Op::StxW, 1, 2, 4) << I(Op::StxDW, 1, 2, 9)
    << mov(0, 0) << exit_insn();
  o = run_all(q.insns, zero);
  EXPECT_EQ(o.mem[0], 0x88);
  EXPECT_EQ(o.mem[1], 0);
  EXPECT_EQ(o.mem[2] | o.mem[3] << 8, 0x7788);
  EXPECT_EQ(read32(o.mem, 4), 0x55667788u);
  EXPECT_EQ(o.mem[8], 0);
  EXPECT_EQ(read64(o.mem, 9), 0x1122334455667788ull);
}

TEST(Memory, StackRoundTripAndNegativeOffsets) {
  Prog p;
  p.lddw(1, 0xcafebabedeadbeefull);
  p << I(Op::StxDW, 10, 1, -8) << I(Op::StW, 10, 0, -512, 7) << I(Op::LdxDW, 0, 10, -8)
    << I(Op::LdxW, 2, 10, -512) << I(Op::Add64X, 0, 2) << exit_insn();
  EXPECT_EQ(run_r0(p.insns), 0xcafebabedeadbeefull + 7);
}

TEST(Memory, Lddw) {
  Prog p;
  p.lddw(0, 0x123456789abcdef0ull) << exit_insn();
  EXPECT_EQ(run_r0(p.insns), 0x123456789abcdef0ull);
  Prog q;
  q.lddw(3, 0xffffffff00000000ull) << movr(0, 3) << exit_insn();
  EXPECT_EQ(run_r0(q.insns), 0xffffffff00000000ull);
}

// One atomic on mem[0] (initially `init`) with src = r2 = v; returns r0 and leaves r2 in mem[8].
struct AtomicOut {
  uint64_t r0, src, mem;
};
AtomicOut atomic(Op op, uint64_t init, uint64_t v, uint64_t r0 = 0) {
  std::vector<uint8_t> m(16, 0);
  write64(m, 0, init);
  Prog p;
  p.lddw(2, v).lddw(0, r0);
  p << I(op, 1, 2, 0) << I(Op::StxDW, 1, 2, 8) << exit_insn();
  Outcome o = run_all(p.insns, m);
  return {o.r0, read64(o.mem, 8), read64(o.mem, 0)};
}

TEST(Atomic, ArithmeticWithoutFetchLeavesSrc) {
  auto a = atomic(Op::Atomic64Add, 40, 2);
  EXPECT_EQ(a.mem, 42u);
  EXPECT_EQ(a.src, 2u);
  a = atomic(Op::Atomic64Or, 0xf0, 0x0f);
  EXPECT_EQ(a.mem, 0xffu);
  a = atomic(Op::Atomic64And, 0xff, 0x3c);
  EXPECT_EQ(a.mem, 0x3cu);
  a = atomic(Op::Atomic64Xor, 0xff, 0x0f);
  EXPECT_EQ(a.mem, 0xf0u);
  EXPECT_EQ(a.src, 0x0fu);
  // 32-bit: only the low word changes, and the carry does not spill into the high word.
  a = atomic(Op::Atomic32Add, 0xaaaaaaaaffffffffull, 1);
  EXPECT_EQ(a.mem, 0xaaaaaaaa00000000ull);
  a = atomic(Op::Atomic32Or, 0x1111111100000000ull, 0xffffffff0000000full);
  EXPECT_EQ(a.mem, 0x111111110000000full);
  a = atomic(Op::Atomic32And, 0x22222222ffffffffull, 0xf0);
  EXPECT_EQ(a.mem, 0x22222222000000f0ull);
  a = atomic(Op::Atomic32Xor, 0x33333333000000ffull, 0xff);
  EXPECT_EQ(a.mem, 0x3333333300000000ull);
  EXPECT_EQ(a.src, 0xffu);
}

TEST(Atomic, FetchPutsTheOldValueInSrc) {
  auto a = atomic(Op::Atomic64FetchAdd, 40, 2);
  EXPECT_EQ(a.mem, 42u);
  EXPECT_EQ(a.src, 40u);
  a = atomic(Op::Atomic64FetchOr, 0xf0, 0x0f);
  EXPECT_EQ(a.mem, 0xffu);
  EXPECT_EQ(a.src, 0xf0u);
  a = atomic(Op::Atomic64FetchAnd, 0xff, 0x3c);
  EXPECT_EQ(a.mem, 0x3cu);
  EXPECT_EQ(a.src, 0xffu);
  a = atomic(Op::Atomic64FetchXor, 0xff, 0x0f);
  EXPECT_EQ(a.mem, 0xf0u);
  EXPECT_EQ(a.src, 0xffu);
  a = atomic(Op::Atomic64Xchg, 0x1234, 0x5678);
  EXPECT_EQ(a.mem, 0x5678u);
  EXPECT_EQ(a.src, 0x1234u);
  // 32-bit: the old low word, zero-extended.
  a = atomic(Op::Atomic32FetchAdd, 0x99999999fffffffeull, 0xabcdef0000000003ull);
  EXPECT_EQ(a.mem, 0x9999999900000001ull);
  EXPECT_EQ(a.src, 0xfffffffeu);
  a = atomic(Op::Atomic32FetchOr, 0x99999999f0000000ull, 1);
  EXPECT_EQ(a.mem, 0x99999999f0000001ull);
  EXPECT_EQ(a.src, 0xf0000000u);
  a = atomic(Op::Atomic32FetchAnd, 0x99999999ff00ff00ull, 0x0ff0);
  EXPECT_EQ(a.mem, 0x9999999900000f00ull);
  EXPECT_EQ(a.src, 0xff00ff00u);
  a = atomic(Op::Atomic32FetchXor, 0x9999999980000000ull, 0x80000001);
  EXPECT_EQ(a.mem, 0x9999999900000001ull);
  EXPECT_EQ(a.src, 0x80000000u);
  a = atomic(Op::Atomic32Xchg, 0x99999999deadbeefull, 0x7777777712345678ull);
  EXPECT_EQ(a.mem, 0x9999999912345678ull);
  EXPECT_EQ(a.src, 0xdeadbeefu);
}

TEST(Atomic, CmpxchgSucceedsAndFailsReturningTheOldValue) {
  // Success: memory == r0, so src is stored; r0 gets the old value.
  auto a = atomic(Op::Atomic64Cmpxchg, 0x1111, 0x2222, 0x1111);
  EXPECT_EQ(a.mem, 0x2222u);
  EXPECT_EQ(a.r0, 0x1111u);
  EXPECT_EQ(a.src, 0x2222u);
  // Failure: memory unchanged, r0 gets the current value.
  a = atomic(Op::Atomic64Cmpxchg, 0x1111, 0x2222, 0x3333);
  EXPECT_EQ(a.mem, 0x1111u);
  EXPECT_EQ(a.r0, 0x1111u);
  // 32-bit compares the low word of r0 and zero-extends the old value into r0.
  a = atomic(Op::Atomic32Cmpxchg, 0x55555555deadbeefull, 0x12345678, 0xffffffffdeadbeefull);
  EXPECT_EQ(a.mem, 0x5555555512345678ull);
  EXPECT_EQ(a.r0, 0xdeadbeefu);
  a = atomic(Op::Atomic32Cmpxchg, 0x55555555deadbeefull, 0x12345678, 0xdeadbeee);
  EXPECT_EQ(a.mem, 0x55555555deadbeefull);
  EXPECT_EQ(a.r0, 0xdeadbeefu);
}

TEST(Atomic, LoadAcquireAndStoreRelease) {
  const Op loads[] = {Op::LoadAcqB, Op::LoadAcqH, Op::LoadAcqW, Op::LoadAcqDW};
  const uint64_t want[] = {0x81, 0x8281, 0x84838281, 0x8887868584838281ull};
  for (int i = 0; i < 4; ++i) {
    // load_acquire: dst = *(src + off), zero-extended.
    Prog p;
    p << I(loads[i], 0, 1, 0) << exit_insn();
    EXPECT_EQ(run_r0(p.insns, kMem), want[i]) << isa::name(loads[i]);
  }
  const Op stores[] = {Op::StoreRelB, Op::StoreRelH, Op::StoreRelW, Op::StoreRelDW};
  const uint64_t stored[] = {0xaa, 0xbbaa, 0xddccbbaa, 0x11223344ddccbbaaull};
  for (int i = 0; i < 4; ++i) {
    Prog p;
    p.lddw(2, 0x11223344ddccbbaaull) << I(stores[i], 1, 2, 2) << mov(0, 0) << exit_insn();
    Outcome o = run_all(p.insns, std::vector<uint8_t>(16, 0));
    EXPECT_EQ(read64(o.mem, 2), stored[i]) << isa::name(stores[i]);
    EXPECT_EQ(o.mem[1], 0);
  }
}

uint64_t ld_pkt(const std::vector<Insn>& prog, const std::vector<uint8_t>& pkt, uint64_t r1 = 0,
                uint64_t r2 = 0) {
  // The packet loads read rc.pkt_data, not memory, so r1/r2 are free for LD_IND's base.
  Outcome first{};
  const ExecOptions modes[] = {{false, 0}, {true, 0}, {false, 1000}, {true, 1000}};
  for (int m = 0; m < 4; ++m) {
    auto exe = compile_ok(prog, {}, modes[m]);
    RunContext rc;
    rc.pkt_data = pkt.data();
    rc.pkt_len = static_cast<uint32_t>(pkt.size());
    const uint64_t r0 = exe->run(rc, r1, r2);
    EXPECT_EQ(rc.fault.kind, FaultKind::None);
    if (m == 0) first.r0 = r0;
    EXPECT_EQ(r0, first.r0);
  }
  return first.r0;
}

TEST(Memory, LdAbsReadsNetworkOrder) {
  const std::vector<uint8_t> pkt = {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc};
  EXPECT_EQ(ld_pkt((Prog{} << I(Op::LdAbsB, 0, 0, 0, 1) << exit_insn()).insns, pkt), 0x34u);
  EXPECT_EQ(ld_pkt((Prog{} << I(Op::LdAbsH, 0, 0, 0, 1) << exit_insn()).insns, pkt), 0x3456u);
  EXPECT_EQ(ld_pkt((Prog{} << I(Op::LdAbsW, 0, 0, 0, 2) << exit_insn()).insns, pkt), 0x56789abcu);
  // r0 is replaced as a whole.
  Prog p;
  p.lddw(0, ~0ull) << I(Op::LdAbsB, 0, 0, 0, 5) << exit_insn();
  EXPECT_EQ(ld_pkt(p.insns, pkt), 0xbcu);
}

TEST(Memory, LdIndAddsTheRegister) {
  const std::vector<uint8_t> pkt = {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc};
  EXPECT_EQ(ld_pkt((Prog{} << I(Op::LdIndH, 0, 1, 0, 1) << exit_insn()).insns, pkt, 3), 0x9abcu);
  EXPECT_EQ(ld_pkt((Prog{} << I(Op::LdIndW, 0, 1, 0, -2) << exit_insn()).insns, pkt, 3),
            0x3456789au);
  EXPECT_EQ(ld_pkt((Prog{} << I(Op::LdIndB, 0, 1, 0, 0) << exit_insn()).insns, pkt, 5), 0xbcu);
}

TEST(Memory, OutOfRangePacketLoadEndsTheProgramWithZero) {
  const std::vector<uint8_t> pkt = {0x12, 0x34, 0x56, 0x78};
  // r0 = 7; ld_abs past the end; r0 = 9; exit  ->  0 (the rest never runs).
  auto ends = [&](Insn ld, uint64_t r1 = 0) {
    Prog p;
    p << mov(0, 7) << ld << mov(0, 9) << exit_insn();
    return ld_pkt(p.insns, pkt, r1);
  };
  EXPECT_EQ(ends(I(Op::LdAbsW, 0, 0, 0, 0)), 9u);  // in range: runs on
  EXPECT_EQ(ends(I(Op::LdAbsW, 0, 0, 0, 1)), 0u);  // one byte too far
  EXPECT_EQ(ends(I(Op::LdAbsH, 0, 0, 0, 3)), 0u);
  EXPECT_EQ(ends(I(Op::LdAbsB, 0, 0, 0, 4)), 0u);
  EXPECT_EQ(ends(I(Op::LdAbsB, 0, 0, 0, -1)), 0u);  // negative
  EXPECT_EQ(ends(I(Op::LdAbsB, 0, 0, 0, INT32_MAX)), 0u);
  EXPECT_EQ(ends(I(Op::LdIndB, 0, 1, 0, 0), static_cast<uint64_t>(-1)), 0u);
  EXPECT_EQ(ends(I(Op::LdIndW, 0, 1, 0, 2), 1), 0u);
  EXPECT_EQ(ends(I(Op::LdIndB, 0, 1, 0, 3), 0), 9u);
  // No packet at all.
  EXPECT_EQ(ld_pkt((Prog{} << mov(0, 7) << I(Op::LdAbsB, 0, 0, 0, 0) << exit_insn()).insns, {}),
            0u);
}

}  // namespace
}  // namespace bpfbox::vm::test
