// assemble(disassemble(p)) == p, bit for bit: every operation of the table, every lddw pseudo
// source, every jump width, negative offsets, and many random valid instructions.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "isa/assembler.hpp"
#include "isa/decoder.hpp"
#include "isa/disasm.hpp"

namespace bpfbox::isa {
namespace {

// Disassembles the instruction at prog[0] (one or two slots) and assembles the text back.
void expect_round_trip(std::span<const Insn> prog) {
  Decoded d;
  ASSERT_TRUE(decode(prog, 0, d)) << "opcode " << int(prog[0].code);
  const std::string text = disassemble(d);
  for (Syntax syntax : {Syntax::Kernel, Syntax::Auto}) {
    auto r = assemble(text, syntax);
    ASSERT_TRUE(r) << text << ": " << r.status().message();
    ASSERT_EQ(r->size(), d.slots) << text;
    for (size_t i = 0; i < d.slots; ++i)
      EXPECT_EQ(std::memcmp(&(*r)[i], &prog[i], sizeof(Insn)), 0)
          << text << " (slot " << i << "): got code " << int((*r)[i].code) << " dst "
          << int((*r)[i].dst_reg) << " src " << int((*r)[i].src_reg) << " off " << (*r)[i].off
          << " imm " << (*r)[i].imm << ", want code " << int(prog[i].code) << " dst "
          << int(prog[i].dst_reg) << " src " << int(prog[i].src_reg) << " off " << prog[i].off
          << " imm " << prog[i].imm;
  }
}

// An instance of `op` with the given field values where the operation uses the field.
Insn instance(Op op, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  const OpInfo& o = info(op);
  if (o.zero_mask & Zero::Dst) dst = 0;
  if (o.zero_mask & Zero::Src) src = 0;
  if (o.zero_mask & Zero::Off) off = 0;
  if (o.zero_mask & Zero::Imm) imm = 0;
  if (o.kind == Kind::LdAbs || o.kind == Kind::LdInd) dst = 0;
  return encode(op, dst, src, off, imm);
}

TEST(RoundTrip, EveryOperationOfTheTable) {
  struct Fields {
    uint8_t dst, src;
    int16_t off;
    int32_t imm;
  };
  const Fields samples[] = {{0, 0, 0, 0},
                            {1, 2, 3, 4},
                            {10, 9, -1, -1},
                            {5, 10, -32768, INT32_MIN},
                            {9, 1, 32767, INT32_MAX},
                            {3, 4, 16, 0x7fff0000}};
  for (int i = 0; i < kOpCount; ++i) {
    const Op op = static_cast<Op>(i);
    if (op == Op::Lddw) continue;
    for (const Fields& f : samples) {
      SCOPED_TRACE(info(op).name);
      const Insn insn = instance(op, f.dst, f.src, f.off, f.imm);
      expect_round_trip(std::span(&insn, 1));
    }
  }
}

TEST(RoundTrip, EveryLddwPseudoSource) {
  const uint64_t values[] = {0,
                             1,
                             0x1122334455667788,
                             ~0ull,
                             0x80000000ull,
                             0xffffffffull,
                             0x100000000ull,
                             0x7fffffff80000000ull};
  for (uint8_t pseudo = 0; pseudo <= BPF_PSEUDO_MAP_IDX_VALUE; ++pseudo) {
    for (uint64_t v : values) {
      for (uint8_t dst : {0, 7, 10}) {
        Insn prog[2];
        encode_lddw(dst, pseudo, v, prog);
        SCOPED_TRACE(testing::Message() << "pseudo " << int(pseudo) << " value " << v);
        expect_round_trip(prog);
      }
    }
  }
}

TEST(RoundTrip, EveryJumpWidthAndDirection) {
  for (int16_t off : {int16_t(0), int16_t(1), int16_t(-1), int16_t(-32768), int16_t(32767)}) {
    for (Op op : {Op::Ja, Op::MayGoto, Op::Jeq64K, Op::Jsge32X, Op::Jset32K}) {
      const Insn insn = instance(op, 1, 2, off, -7);
      expect_round_trip(std::span(&insn, 1));
    }
  }
  for (int32_t imm : {0, 1, -1, 100000, -100000, INT32_MIN, INT32_MAX}) {
    for (Op op : {Op::Gotol, Op::CallLocal}) {
      const Insn insn = instance(op, 0, 0, 0, imm);
      expect_round_trip(std::span(&insn, 1));
    }
  }
}

TEST(RoundTrip, KfuncCallsCarryTheirOffset) {
  for (int16_t off : {int16_t(0), int16_t(1), int16_t(-1), int16_t(300)}) {
    const Insn insn = encode(Op::CallKfunc, 0, 0, off, 54321);
    expect_round_trip(std::span(&insn, 1));
  }
}

// Random field values, biased toward the edges where printing and parsing differ.
class RandomInsns {
 public:
  explicit RandomInsns(uint32_t seed) : rng_(seed) {}

  int32_t imm() {
    switch (rng_() % 4) {
      case 0:
        return static_cast<int32_t>(rng_() % 33) - 16;
      case 1: {
        const int32_t edges[] = {INT32_MIN, INT32_MAX, -1, 0x80000000 - 1, 0x10000, -65536};
        return edges[rng_() % std::size(edges)];
      }
      default:
        return static_cast<int32_t>(rng_());
    }
  }
  int16_t off() { return static_cast<int16_t>(imm()); }
  uint8_t reg() { return static_cast<uint8_t>(rng_() % 11); }
  uint64_t imm64() { return (static_cast<uint64_t>(rng_()) << 32) | static_cast<uint32_t>(imm()); }
  uint32_t below(uint32_t n) { return static_cast<uint32_t>(rng_() % n); }

 private:
  std::mt19937 rng_;
};

TEST(RoundTrip, RandomValidInstructions) {
  RandomInsns rnd(20261130);
  int checked = 0;
  for (int n = 0; n < 50000; ++n) {
    const Op op = static_cast<Op>(rnd.below(kOpCount));
    Insn prog[2];
    if (op == Op::Lddw) {
      encode_lddw(rnd.reg(), static_cast<uint8_t>(rnd.below(BPF_PSEUDO_MAP_IDX_VALUE + 1)),
                  rnd.imm64(), prog);
    } else {
      prog[0] = instance(op, rnd.reg(), rnd.reg(), rnd.off(), rnd.imm());
      prog[1] = Insn{};
    }
    Decoded d;
    if (!decode(std::span(prog, op == Op::Lddw ? 2 : 1), 0, d)) continue;
    expect_round_trip(std::span(prog, d.slots));
    if (testing::Test::HasFailure()) return;
    ++checked;
  }
  EXPECT_GT(checked, 45000);
}

TEST(RoundTrip, WholeProgramListingReadsBack) {
  RandomInsns rnd(7);
  std::vector<Insn> prog;
  for (int i = 0; i < 2000; ++i) {
    const Op op = static_cast<Op>(rnd.below(kOpCount));
    if (op == Op::Lddw) {
      Insn pair[2];
      encode_lddw(rnd.reg(), static_cast<uint8_t>(rnd.below(7)), rnd.imm64(), pair);
      prog.insert(prog.end(), pair, pair + 2);
    } else {
      prog.push_back(instance(op, rnd.reg(), rnd.reg(), rnd.off(), rnd.imm()));
    }
  }
  const std::string listing = disassemble_program(prog);
  auto r = assemble(listing);
  ASSERT_TRUE(r) << r.status().message();
  ASSERT_EQ(r->size(), prog.size());
  EXPECT_EQ(std::memcmp(r->data(), prog.data(), prog.size() * sizeof(Insn)), 0);
}

}  // namespace
}  // namespace bpfbox::isa
