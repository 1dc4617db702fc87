#include <gtest/gtest.h>

#include "isa/decoder.hpp"

namespace bpfbox::isa {
namespace {

TEST(Decoder, EveryOperationRoundTripsThroughEncode) {
  for (int i = 0; i < kOpCount; ++i) {
    const Op op = static_cast<Op>(i);
    if (op == Op::Lddw) continue;
    const OpInfo& o = info(op);
    const uint8_t dst = (o.zero_mask & Zero::Dst) ? 0 : 3;
    const uint8_t src = (o.zero_mask & Zero::Src) ? 0 : 4;
    const int16_t off = (o.zero_mask & Zero::Off) ? 0 : -8;
    const int32_t imm = (o.zero_mask & Zero::Imm) ? 0 : 1;
    Insn prog[1] = {encode(op, dst, src, off, imm)};
    Decoded d;
    ASSERT_TRUE(decode(prog, 0, d)) << o.name;
    EXPECT_EQ(d.op, op) << o.name;
  }
}

TEST(Decoder, TableCoversTheWholeIsa) {
  // ALU/ALU64 (12 binary ops x 2 forms x 2 widths + sdiv/smod + movsx + neg + end/bswap), jumps,
  // calls, loads, stores and atomics, and the verifier's nospec: the count is pinned so a lost row
  // is noticed.
  EXPECT_EQ(kOpCount, 175);
}

TEST(Decoder, UnknownOpcodeNamesPcAndOpcode) {
  Insn prog[2] = {{.code = 0x8e}, {.code = BPF_JMP | BPF_EXIT}};
  Decoded d;
  Status st = decode(prog, 0, d);
  EXPECT_EQ(st.err(), EINVAL);
  EXPECT_NE(st.message().find("unknown opcode 8e"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("insn 0"), std::string::npos) << st.message();
}

TEST(Decoder, ReservedFieldsAreRefused) {
  Insn add = encode(Op::Add64K, 1, 0, 0, 1);
  add.src_reg = 2;
  Insn prog[1] = {add};
  Decoded d;
  Status st = decode(prog, 0, d);
  EXPECT_EQ(st.err(), EINVAL);
  EXPECT_NE(st.message().find("BPF_ALU64 uses reserved fields"), std::string::npos);
}

TEST(Decoder, DiscriminatedOperations) {
  struct Case {
    Insn insn;
    Op op;
  } cases[] = {
      {{.code = BPF_ALU64 | BPF_DIV | BPF_K, .dst_reg = 1, .off = 1, .imm = 3}, Op::Sdiv64K},
      {{.code = BPF_ALU | BPF_MOD | BPF_X, .dst_reg = 1, .src_reg = 2, .off = 1}, Op::Smod32X},
      {{.code = BPF_ALU64 | BPF_MOV | BPF_X, .dst_reg = 1, .src_reg = 2, .off = 32},
       Op::Movsx64_32},
      {{.code = BPF_ALU | BPF_END | BPF_TO_BE, .dst_reg = 1, .imm = 16}, Op::Be16},
      {{.code = BPF_ALU64 | BPF_END | BPF_TO_LE, .dst_reg = 1, .imm = 64}, Op::Bswap64},
      {{.code = BPF_STX | BPF_ATOMIC | BPF_DW,
        .dst_reg = 1,
        .src_reg = 2,
        .imm = BPF_ADD | BPF_FETCH},
       Op::Atomic64FetchAdd},
      {{.code = BPF_STX | BPF_ATOMIC | BPF_B, .dst_reg = 0, .src_reg = 1, .imm = BPF_LOAD_ACQ},
       Op::LoadAcqB},
      {{.code = BPF_JMP | BPF_CALL, .src_reg = BPF_PSEUDO_CALL, .imm = 1}, Op::CallLocal},
      {{.code = BPF_JMP32 | BPF_JA, .imm = 5}, Op::Gotol},
  };
  for (const Case& c : cases) {
    Insn prog[1] = {c.insn};
    Decoded d;
    ASSERT_TRUE(decode(prog, 0, d)) << name(c.op);
    EXPECT_EQ(d.op, c.op) << name(c.op);
  }
  Insn bad_movsx[1] = {{.code = BPF_ALU | BPF_MOV | BPF_X, .dst_reg = 1, .src_reg = 2, .off = 32}};
  Decoded d;
  EXPECT_EQ(decode(bad_movsx, 0, d).err(), EINVAL);  // movsx32 exists only as ALU64
}

TEST(Decoder, ProgramChecksTargetsAndLddw) {
  Insn lddw[2];
  encode_lddw(0, 0, 0x1122334455667788ull, lddw);
  {
    Insn prog[] = {lddw[0], lddw[1], encode(Op::Exit, 0, 0, 0, 0)};
    auto r = decode_program(prog);
    ASSERT_TRUE(r) << r.status().message();
    EXPECT_EQ((*r)[0].imm64, 0x1122334455667788ull);
    EXPECT_EQ((*r)[1].slots, 0);
  }
  {
    Insn prog[] = {encode(Op::Ja, 0, 0, 1, 0), lddw[0], lddw[1], encode(Op::Exit, 0, 0, 0, 0)};
    auto r = decode_program(prog);
    EXPECT_EQ(r.status().err(), EINVAL);
    EXPECT_NE(r.status().message().find("middle of ldimm64"), std::string::npos);
  }
  {
    Insn prog[] = {encode(Op::Ja, 0, 0, 5, 0), encode(Op::Exit, 0, 0, 0, 0)};
    auto r = decode_program(prog);
    EXPECT_NE(r.status().message().find("jump out of range from insn 0 to 6"), std::string::npos);
  }
  {
    Insn prog[] = {encode(Op::Mov64K, 0, 0, 0, 0)};
    EXPECT_NE(decode_program(prog).status().message().find("last insn"), std::string::npos);
  }
  {
    Insn prog[] = {lddw[0]};
    EXPECT_EQ(decode_program(prog).status().err(), EINVAL);
  }
}

}  // namespace
}  // namespace bpfbox::isa
