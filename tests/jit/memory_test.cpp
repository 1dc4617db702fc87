// Loads, stores and atomics of every size through every base register (rbp, r12 and r13 have
// their own x86 encodings), on the stack and on caller memory.
#include <gtest/gtest.h>

#include <random>

#include "jit_harness.hpp"

namespace bpfbox::vm::jit::test {
namespace {

std::vector<uint8_t> pattern(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> m(n);
  for (auto& b : m) b = static_cast<uint8_t>(rng());
  return m;
}

std::vector<Op> ops_of(std::initializer_list<isa::Kind> kinds) {
  std::vector<Op> v;
  for (int i = 0; i < isa::kOpCount; ++i)
    for (isa::Kind k : kinds)
      if (isa::info(static_cast<Op>(i)).kind == k) v.push_back(static_cast<Op>(i));
  return v;
}

// r(base) = mem + 64; r(other) = a value; the access at off; then every register is stored.
std::vector<Insn> through_base(uint8_t base, const std::vector<Insn>& body) {
  Prog p;
  p << I(Op::StxDW, 10, 1, -8);  // the memory pointer, for the epilogue
  for (uint8_t r = 0; r < 10; ++r)
    if (r != base && r != 1) p.lddw(r, 0x0123456789abcdefull * (r + 3));
  if (base != 1) p << I(Op::Mov64X, base, 1);
  p << I(Op::Add64K, base, 0, 0, 64);
  if (base != 1) p.lddw(1, 0x1111222233334444ull);
  p.insns.insert(p.insns.end(), body.begin(), body.end());
  // The base holds an address that differs between runs: keep only its offset from the memory.
  const uint8_t tmp = base == 0 ? 1 : 0;
  p << I(Op::StxDW, 10, tmp, -96) << I(Op::LdxDW, tmp, 10, -8) << I(Op::Sub64X, base, tmp)
    << I(Op::LdxDW, tmp, 10, -96);
  for (uint8_t r = 0; r < 10; ++r) p << I(Op::StxDW, 10, r, static_cast<int16_t>(-16 - 8 * r));
  p << I(Op::LdxDW, 1, 10, -8);
  for (uint8_t r = 0; r < 10; ++r) {
    p << I(Op::LdxDW, 2, 10, static_cast<int16_t>(-16 - 8 * r));
    p << I(Op::StxDW, 1, 2, static_cast<int16_t>(8 * r));
  }
  p << I(Op::Mov64K, 0, 0, 0, 0);
  return p.exit().insns;
}

TEST(JitMemory, LoadsAndStoresThroughEveryBase) {
  const auto ops = ops_of({isa::Kind::Ldx, isa::Kind::Ldxs, isa::Kind::St, isa::Kind::Stx,
                           isa::Kind::LoadAcq, isa::Kind::StoreRel});
  int n = 0;
  for (Op op : ops) {
    const isa::OpInfo& o = isa::info(op);
    const bool load =
        o.kind == isa::Kind::Ldx || o.kind == isa::Kind::Ldxs || o.kind == isa::Kind::LoadAcq;
    for (uint8_t base = 0; base < 10; ++base) {
      for (uint8_t other = 0; other < 10; ++other) {
        for (int16_t off : {int16_t{0}, int16_t{-8}, int16_t{16}, int16_t{-64}, int16_t{80}}) {
          if (other == base) continue;  // the base holds a pointer, different in every run
          if (++n % 3) continue;        // a third of the combinations keeps the test quick
          const Insn i =
              load ? I(op, other, base, off, o.discr == isa::Discr::Imm ? o.discr_value : 0)
                   : I(op, base, o.kind == isa::Kind::St ? 0 : other, off,
                       o.kind == isa::Kind::St      ? -0x12345679
                       : o.discr == isa::Discr::Imm ? o.discr_value
                                                    : 0);
          const std::string d = compare_engines(through_base(base, {i}), pattern(256, n));
          ASSERT_TRUE(d.empty()) << isa::name(op) << " base r" << int(base) << " other r"
                                 << int(other) << " off " << off << "\n"
                                 << d;
        }
      }
    }
  }
}

// `rA = *(uN *)(rB + o); *(uN *)(rD + s) = rA; rC = *(uN *)(rB + o + N); *(uN *)(rD + s + N) = rC`
// is one wide load and store (fuse_copy_pair): memory to stack, stack to stack through r10,
// memory to memory through one base (refused at compile time when the second load reads the
// first store), and through two bases that meet at run time — a pointer into the stack, or a
// second pointer into the memory — at every overlap and the first address past it (|delta| = N),
// where the run-time check takes the four instructions as written. The same result as the
// interpreter in every variant, and the fused pcs have no code of their own where it applies.
TEST(JitMemory, AdjacentFieldCopies) {
  enum Case {
    kMemToStack,
    kStack,
    kStackOverlap,
    kStackAlias,
    kMemSame,
    kMemSameOverlap,
    kMemAlias
  };
  for (int n : {1, 2, 4})
    for (Case c :
         {kMemToStack, kStack, kStackOverlap, kStackAlias, kMemSame, kMemSameOverlap, kMemAlias}) {
      const bool runtime = c == kStackAlias || c == kMemAlias;
      // At the overlap's ends and middle, and the first address past it on each side.
      for (int delta : runtime ? std::vector<int>{-n, 1 - n, 0, n - 1, n} : std::vector<int>{0})
        for (uint8_t rc : {uint8_t{2}, uint8_t{3}, uint8_t{7}}) {  // rC: rA, another, rB itself
          uint8_t rb = 7, rd = 10;
          int16_t o = 3, st = -16;
          Prog p;
          for (int16_t off = 0; off < 32; off += 8)  // the stack from the memory's second half
            p << I(Op::LdxDW, 6, 1, static_cast<int16_t>(32 + off))
              << I(Op::StxDW, 10, 6, static_cast<int16_t>(-32 + off));
          switch (c) {
            case kMemToStack:
              p << I(Op::Mov64X, 7, 1);
              break;
            case kStack:
            case kStackOverlap:
              rb = 10, o = static_cast<int16_t>(c == kStack ? -32 : -16 - n);
              break;
            case kStackAlias:  // the second load at r10 - 16 + delta, the first store at r10 - 16
              p << I(Op::Mov64X, 7, 10) << I(Op::Add64K, 7, 0, 0, -32);
              o = static_cast<int16_t>(16 - n + delta);
              break;
            case kMemSame:
            case kMemSameOverlap:
              p << I(Op::Mov64X, 7, 1);
              rd = 7, st = 8, o = static_cast<int16_t>(c == kMemSame ? 40 : 8 - n);
              break;
            case kMemAlias:  // rD = memory + 16: the second load at rD + delta
              p << I(Op::Mov64X, 7, 1) << I(Op::Mov64X, 8, 1) << I(Op::Add64K, 8, 0, 0, 16);
              rd = 8, st = 0, o = static_cast<int16_t>(16 - n + delta);
              break;
          }
          if ((rb == 10 && rc == 7) || rc == rd) continue;
          const Op ld = n == 1 ? Op::LdxB : n == 2 ? Op::LdxH : Op::LdxW;
          const Op sx = n == 1 ? Op::StxB : n == 2 ? Op::StxH : Op::StxW;
          const size_t at = p.insns.size();
          p << I(ld, 2, rb, o) << I(sx, rd, 2, st) << I(ld, rc, rb, static_cast<int16_t>(o + n))
            << I(sx, rd, rc, static_cast<int16_t>(st + n));
          for (uint8_t r : {2, 3, 7})  // r7 only when loaded: else it holds an address
            if (r != 7 || rc == 7) p << I(Op::StxDW, 1, r, static_cast<int16_t>(8 * (r - 2)));
          for (int16_t off = 0; off < 32; off += 8)
            p << I(Op::LdxDW, 6, 10, static_cast<int16_t>(-32 + off))
              << I(Op::StxDW, 1, 6, static_cast<int16_t>(64 + off));
          p << I(Op::LdxDW, 0, 10, -16);
          p.exit();
          const std::string what = "n " + std::to_string(n) + " case " + std::to_string(c) +
                                   " delta " + std::to_string(delta) + " rC r" + std::to_string(rc);
          const std::string d = compare_engines(p.insns, pattern(96, n * 16 + c));
          ASSERT_TRUE(d.empty()) << what << "\n" << d;
          auto exe = jit::compile(p.insns, test_helpers(), {}, host_tuning());
          ASSERT_TRUE(exe) << exe.status().message();
          const auto off = (*exe)->native_layout().insn_offsets;
          const bool fused = off[at + 1] == off[at + 4];
          EXPECT_EQ(fused, c != kStackOverlap && c != kMemSameOverlap) << what;
        }
    }
}

TEST(JitMemory, StackThroughR10) {
  Prog p;
  p << I(Op::StDW, 10, 0, -8, -2) << I(Op::StW, 10, 0, -12, 0x7eadbeef)
    << I(Op::StH, 10, 0, -14, 0x1234) << I(Op::StB, 10, 0, -15, 0x80);
  p << I(Op::LdxDW, 0, 10, -8) << I(Op::LdxW, 2, 10, -12) << I(Op::Add64X, 0, 2);
  p << I(Op::LdxsH, 3, 10, -14) << I(Op::Add64X, 0, 3) << I(Op::LdxsB, 4, 10, -15)
    << I(Op::Add64X, 0, 4);
  p << I(Op::LdxB, 5, 10, -15) << I(Op::Xor64X, 0, 5);
  p << I(Op::StxDW, 10, 0, -512) << I(Op::LdxDW, 6, 10, -512) << I(Op::Add64X, 0, 6);
  p.exit();
  EXPECT_SAME_AS_INTERP(p.insns);
}

TEST(JitAtomic, EveryOperationOnEveryRegisterPair) {
  const auto ops = ops_of({isa::Kind::Atomic});
  int n = 0;
  for (Op op : ops) {
    const isa::OpInfo& o = isa::info(op);
    for (uint8_t base = 0; base < 10; ++base) {
      for (uint8_t src = 0; src < 10; ++src) {
        if (src == base) continue;  // the kernel forbids it; the value would be a pointer
        if (base == 0 && o.discr_value == BPF_CMPXCHG) continue;  // r0 gets the old value
        for (int16_t off : {int16_t{0}, int16_t{-8}, int16_t{24}}) {
          ++n;
          const Insn i = I(op, base, src, off, o.discr_value);
          const std::string d = compare_engines(through_base(base, {i}), pattern(256, n));
          ASSERT_TRUE(d.empty()) << isa::name(op) << " base r" << int(base) << " src r" << int(src)
                                 << "\n"
                                 << d;
        }
      }
    }
  }
}

TEST(JitAtomic, CmpxchgMatchAndMismatch) {
  for (bool match : {false, true}) {
    for (Op op : {Op::Atomic64Cmpxchg, Op::Atomic32Cmpxchg}) {
      Prog p;
      p << I(Op::LdxDW, 0, 1, 8);
      if (!match) p << I(Op::Add64K, 0, 0, 0, 1);
      p.lddw(0, 0xffffffff00000000ull | 0);  // r0's high half must not matter in 32-bit form
      p << I(Op::LdxW, 3, 1, 8) << I(Op::Or64X, 0, 3);
      if (!match) p << I(Op::Xor64K, 0, 0, 0, 5);
      p << I(Op::Mov64K, 2, 0, 0, 77);
      p << I(op, 1, 2, 8, BPF_CMPXCHG);
      p.exit();
      EXPECT_SAME_AS_INTERP(p.insns, pattern(64, 3));
    }
  }
}

TEST(JitPacket, LdAbsAndLdInd) {
  const std::vector<uint8_t> pkt = pattern(64, 9);
  for (int i = 0; i < isa::kOpCount; ++i) {
    const Op op = static_cast<Op>(i);
    const isa::OpInfo& o = isa::info(op);
    if (o.kind != isa::Kind::LdAbs && o.kind != isa::Kind::LdInd) continue;
    for (int32_t imm : {0, 1, 3, 59, 60, 61, 62, 63, 64, -1, INT32_MIN, INT32_MAX}) {
      for (uint64_t x : {uint64_t{0}, uint64_t{2}, uint64_t{0xfffffffe}, uint64_t{0x100000004}}) {
        Prog p;
        p << I(Op::Mov64K, 0, 0, 0, 99) << I(Op::Mov64K, 6, 0, 0, 5);
        p.lddw(7, x);
        p << I(op, 0, o.kind == isa::Kind::LdInd ? 7 : 0, 0, imm);
        p << I(Op::Add64X, 0, 6);
        p.exit();
        const std::string d =
            compare_engines(p.insns, {}, pkt.data(), static_cast<uint32_t>(pkt.size()));
        ASSERT_TRUE(d.empty()) << isa::name(op) << " imm " << imm << " x " << x << "\n" << d;
      }
    }
  }
  // No packet at all.
  Prog p;
  p << I(Op::Mov64K, 0, 0, 0, 99) << I(Op::LdAbsB, 0, 0, 0, 0) << I(Op::Add64K, 0, 0, 0, 1);
  p.exit();
  EXPECT_SAME_AS_INTERP(p.insns);
}

}  // namespace
}  // namespace bpfbox::vm::jit::test
