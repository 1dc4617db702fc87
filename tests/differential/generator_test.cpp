// The random program generator on its own: reproducible, well-formed, forward-only.
#include <gtest/gtest.h>

#include <cstring>

#include "isa/decoder.hpp"
#include "random_program.hpp"

namespace bpfbox::testsupport {
namespace {

bool same(const std::vector<struct bpf_insn>& a, const std::vector<struct bpf_insn>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof a[0]) == 0;
}

TEST(RandomProgram, SameSeedSameProgram) {
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    const RandomProgram a = generate_program(seed), b = generate_program(seed);
    EXPECT_EQ(a.init, b.init) << seed;
    EXPECT_TRUE(same(a.body, b.body)) << seed;
  }
  EXPECT_FALSE(same(generate_program(1).body, generate_program(2).body));
}

TEST(RandomProgram, WrappedProgramsDecodeAndJumpOnlyForward) {
  for (uint64_t seed = 1; seed <= 500; ++seed) {
    const RandomProgram p = generate_program(seed, {.calls = seed % 2 == 1});
    for (Wrapper w : {Wrapper::Buffer, Wrapper::KernelXdp}) {
      const auto prog = wrap(p, w);
      auto decoded = isa::decode_program(prog);
      ASSERT_TRUE(decoded) << "seed " << seed << ": " << decoded.status().message() << "\n"
                           << listing(prog);
      for (size_t pc = 0; pc < decoded->size(); ++pc) {
        const auto t = (*decoded)[pc].slots ? (*decoded)[pc].target(pc) : std::nullopt;
        if (t) {
          EXPECT_GT(*t, static_cast<int64_t>(pc)) << "seed " << seed << " pc " << pc;
        }
      }
    }
  }
}

TEST(RandomProgram, BodyTouchesOnlyItsStackArea) {
  for (uint64_t seed = 1; seed <= 500; ++seed) {
    const RandomProgram p = generate_program(seed);
    for (size_t pc = 0; pc < p.body.size(); ++pc) {
      const struct bpf_insn& i = p.body[pc];
      const uint8_t cls = BPF_CLASS(i.code);
      if (cls == BPF_LD) {  // lddw: skip its second slot
        ++pc;
        continue;
      }
      if (cls != BPF_LDX && cls != BPF_ST && cls != BPF_STX) continue;
      const bool load_acquire = cls == BPF_STX && i.imm == BPF_LOAD_ACQ;
      const uint8_t base = cls == BPF_LDX || load_acquire ? i.src_reg : i.dst_reg;
      int off = i.off;
      if (base != 10) {  // through a copy: "rB = r10; rB += d" right before, "rB = imm" after
        ASSERT_GE(pc, 2u) << "seed " << seed;
        const struct bpf_insn &copy = p.body[pc - 2], &move = p.body[pc - 1];
        EXPECT_EQ(copy.code, BPF_ALU64 | BPF_MOV | BPF_X) << "seed " << seed << " pc " << pc;
        EXPECT_EQ(copy.dst_reg, base);
        EXPECT_EQ(copy.src_reg, 10);
        EXPECT_EQ(move.code, BPF_ALU64 | BPF_ADD | BPF_K) << "seed " << seed << " pc " << pc;
        EXPECT_EQ(move.dst_reg, base);
        ASSERT_LT(pc + 1, p.body.size());
        EXPECT_EQ(p.body[pc + 1].code, BPF_ALU64 | BPF_MOV | BPF_K);
        EXPECT_EQ(p.body[pc + 1].dst_reg, base);
        off += move.imm;
      }
      EXPECT_GE(off, -kBodyStackBytes) << "seed " << seed << " pc " << pc;
      EXPECT_LT(off, 0) << "seed " << seed << " pc " << pc;
    }
  }
}

}  // namespace
}  // namespace bpfbox::testsupport
