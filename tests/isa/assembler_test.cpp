// The assembler on both syntaxes, labels, and its error messages.
#include <gtest/gtest.h>

#include <cstring>

#include "isa/assembler.hpp"
#include "isa/decoder.hpp"

namespace bpfbox::isa {
namespace {

bool same(const Insn& a, const Insn& b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

// Assembles one instruction and checks it equals `want`.
void expect_insn(std::string_view text, const Insn& want, Syntax syntax = Syntax::Auto) {
  auto r = assemble(text, syntax);
  ASSERT_TRUE(r) << text << ": " << r.status().message();
  ASSERT_EQ(r->size(), 1u) << text;
  EXPECT_TRUE(same((*r)[0], want))
      << text << ": got code " << int((*r)[0].code) << " dst " << int((*r)[0].dst_reg) << " src "
      << int((*r)[0].src_reg) << " off " << (*r)[0].off << " imm " << (*r)[0].imm;
}

std::string error_of(std::string_view text, Syntax syntax = Syntax::Auto) {
  auto r = assemble(text, syntax);
  EXPECT_FALSE(r) << text;
  if (r) return "";
  EXPECT_EQ(r.status().err(), EINVAL) << text;
  return r.status().message();
}

TEST(AssemblerKernel, Alu) {
  expect_insn("r0 = 1", encode(Op::Mov64K, 0, 0, 0, 1));
  expect_insn("r0 = -1", encode(Op::Mov64K, 0, 0, 0, -1));
  expect_insn("w0 = 0xffffffff", encode(Op::Mov32K, 0, 0, 0, -1));
  expect_insn("w0 = w1", encode(Op::Mov32X, 0, 1, 0, 0));
  expect_insn("r1 += r2", encode(Op::Add64X, 1, 2, 0, 0));
  expect_insn("w1 s/= 3", encode(Op::Sdiv32K, 1, 0, 0, 3));
  expect_insn("r1 s%= r2", encode(Op::Smod64X, 1, 2, 0, 0));
  expect_insn("r1 s>>= 63", encode(Op::Arsh64K, 1, 0, 0, 63));
  expect_insn("r1 <<= r3", encode(Op::Lsh64X, 1, 3, 0, 0));
  expect_insn("r0 = (s8)r1", encode(Op::Movsx64_8, 0, 1, 0, 0));
  expect_insn("w0 = (s16)w1", encode(Op::Movsx32_16, 0, 1, 0, 0));
  expect_insn("r0 = -r0", encode(Op::Neg64, 0, 0, 0, 0));
  expect_insn("r1 = be16 r1", encode(Op::Be16, 1, 0, 0, 0));
  expect_insn("r1 = le32 r1", encode(Op::Le32, 1, 0, 0, 0));
  expect_insn("r1 = bswap64 r1", encode(Op::Bswap64, 1, 0, 0, 0));
}

TEST(AssemblerKernel, JumpsAndCalls) {
  expect_insn("if r1 == 0x0 goto pc+1", encode(Op::Jeq64K, 1, 0, 1, 0));
  expect_insn("if w1 s> w2 goto pc-3", encode(Op::Jsgt32X, 1, 2, -3, 0));
  expect_insn("if r1 != 0xffffffff goto +2", encode(Op::Jne64K, 1, 0, 2, -1));
  expect_insn("goto pc+3", encode(Op::Ja, 0, 0, 3, 0));
  expect_insn("gotol pc+100000", encode(Op::Gotol, 0, 0, 0, 100000));
  expect_insn("may_goto pc+2", encode(Op::MayGoto, 0, 0, 2, 0));
  expect_insn("call bpf_map_lookup_elem#1", encode(Op::Call, 0, 0, 0, 1));
  expect_insn("call bpf_map_lookup_elem", encode(Op::Call, 0, 0, 0, 1));
  expect_insn("call unknown#100000", encode(Op::Call, 0, 0, 0, 100000));
  expect_insn("call pc+5", encode(Op::CallLocal, 0, 0, 0, 5));
  expect_insn("call kernel-function#77 off:3", encode(Op::CallKfunc, 0, 0, 3, 77));
  expect_insn("callx r2", encode(Op::Callx, 2, 0, 0, 0));
  expect_insn("exit", encode(Op::Exit, 0, 0, 0, 0));
}

TEST(AssemblerKernel, Memory) {
  expect_insn("r0 = *(u32 *)(r1 +4)", encode(Op::LdxW, 0, 1, 4, 0));
  expect_insn("r0 = *(s8 *)(r1 -1)", encode(Op::LdxsB, 0, 1, -1, 0));
  expect_insn("w0 = *(u16 *)(r1 + 2)", encode(Op::LdxH, 0, 1, 2, 0));
  expect_insn("*(u32 *)(r10 -4) = r0", encode(Op::StxW, 10, 0, -4, 0));
  expect_insn("*(u64 *)(r10 -8) = 42", encode(Op::StDW, 10, 0, -8, 42));
  expect_insn("lock *(u64 *)(r0 +0) += r1", encode(Op::Atomic64Add, 0, 1, 0, 0));
  expect_insn("r1 = atomic64_fetch_add((u64 *)(r0 +0), r1)",
              encode(Op::Atomic64FetchAdd, 0, 1, 0, 0));
  expect_insn("r1 = atomic_xchg((u32 *)(r2 +0), r1)", encode(Op::Atomic32Xchg, 2, 1, 0, 0));
  expect_insn("r0 = atomic64_cmpxchg((u64 *)(r1 +0), r0, r2)",
              encode(Op::Atomic64Cmpxchg, 1, 2, 0, 0));
  expect_insn("r0 = load_acquire((u64 *)(r1 +0))", encode(Op::LoadAcqDW, 0, 1, 0, 0));
  expect_insn("w0 = load_acquire((u8 *)(r1 +0))", encode(Op::LoadAcqB, 0, 1, 0, 0));
  expect_insn("store_release((u32 *)(r1 +0), w2)", encode(Op::StoreRelW, 1, 2, 0, 0));
  expect_insn("r0 = *(u16 *)skb[12]", encode(Op::LdAbsH, 0, 0, 0, 12));
  expect_insn("r0 = *(u8 *)skb[r3 + 14]", encode(Op::LdIndB, 0, 3, 0, 14));
}

TEST(AssemblerKernel, WideLoads) {
  for (std::string_view text :
       {"r1 = 0x1122334455667788", "r1 = 0x1122334455667788 ll", "r1 = 1234605616436508552 ll"}) {
    auto r = assemble(text);
    ASSERT_TRUE(r) << r.status().message();
    Insn want[2];
    encode_lddw(1, 0, 0x1122334455667788, want);
    ASSERT_EQ(r->size(), 2u);
    EXPECT_TRUE(same((*r)[0], want[0]) && same((*r)[1], want[1])) << text;
  }
  auto r = assemble("r2 = map[fd:5][0]+16");
  ASSERT_TRUE(r) << r.status().message();
  EXPECT_EQ((*r)[0].src_reg, BPF_PSEUDO_MAP_VALUE);
  EXPECT_EQ((*r)[0].imm, 5);
  EXPECT_EQ((*r)[1].imm, 16);
}

TEST(AssemblerKernel, LabelsAndTheVerifierLogPrefix) {
  auto r = assemble(
      "0: (b7) r0 = 0\n"
      "loop:\n"
      "  r0 += 1          ; count\n"
      "  if r0 < 10 goto loop\n"
      "  call f\n"
      "  exit\n"
      "f: r0 = 2\n"
      "  exit\n");
  ASSERT_TRUE(r) << r.status().message();
  ASSERT_EQ(r->size(), 7u);
  EXPECT_TRUE(same((*r)[2], encode(Op::Jlt64K, 0, 0, -2, 10)));
  EXPECT_TRUE(same((*r)[3], encode(Op::CallLocal, 0, 0, 0, 1)));
}

TEST(AssemblerKernel, ReadsAVerifierLogWithStateComments) {
  auto r = assemble(
      "0: (b7) r0 = 0                        ; R0_w=0\n"
      "1: (18) r1 = 0x1122334455667788      ; R1_w=0x1122334455667788\n"
      "3: (7d) if r1 s>= r0 goto pc+0       ; R0=0 R1=0x1122334455667788\n"
      ".LBB0_1:\n"
      "4: (95) exit\n");
  ASSERT_TRUE(r) << r.status().message();
  ASSERT_EQ(r->size(), 5u);
  EXPECT_TRUE(same((*r)[3], encode(Op::Jsge64X, 1, 0, 0, 0)));
}

TEST(AssemblerConformance, Forms) {
  expect_insn("mov %r0, 1", encode(Op::Mov64K, 0, 0, 0, 1));
  expect_insn("mov32 %r0, %r1", encode(Op::Mov32X, 0, 1, 0, 0));
  expect_insn("add32 %r0, -3", encode(Op::Add32K, 0, 0, 0, -3));
  expect_insn("sdiv %r1, %r2", encode(Op::Sdiv64X, 1, 2, 0, 0));
  expect_insn("smod32 %r1, 7", encode(Op::Smod32K, 1, 0, 0, 7));
  expect_insn("movsx864 %r0, %r1", encode(Op::Movsx64_8, 0, 1, 0, 0));
  expect_insn("movsx3264 %r0, %r1", encode(Op::Movsx64_32, 0, 1, 0, 0));
  expect_insn("neg32 %r3", encode(Op::Neg32, 3, 0, 0, 0));
  expect_insn("le16 %r0", encode(Op::Le16, 0, 0, 0, 0));
  expect_insn("be64 %r0", encode(Op::Be64, 0, 0, 0, 0));
  expect_insn("swap32 %r0", encode(Op::Bswap32, 0, 0, 0, 0));
  expect_insn("bswap16 %r0", encode(Op::Bswap16, 0, 0, 0, 0));
  expect_insn("ja +1", encode(Op::Ja, 0, 0, 1, 0));
  expect_insn("ja32 -2", encode(Op::Gotol, 0, 0, 0, -2));
  expect_insn("jeq %r1, 0, +1", encode(Op::Jeq64K, 1, 0, 1, 0));
  expect_insn("jsle32 %r1, %r2, -1", encode(Op::Jsle32X, 1, 2, -1, 0));
  expect_insn("ldxw %r0, [%r1+4]", encode(Op::LdxW, 0, 1, 4, 0));
  expect_insn("ldxsb %r0, [%r1-0x2]", encode(Op::LdxsB, 0, 1, -2, 0));
  expect_insn("ldxdw %r0, [%r1]", encode(Op::LdxDW, 0, 1, 0, 0));
  expect_insn("stw [%r10-4], 1", encode(Op::StW, 10, 0, -4, 1));
  expect_insn("stxdw [%r10-8], %r1", encode(Op::StxDW, 10, 1, -8, 0));
  expect_insn("lock add [%r10-8], %r1", encode(Op::Atomic64Add, 10, 1, -8, 0));
  expect_insn("lock fetch xor32 [%r10-4], %r1", encode(Op::Atomic32FetchXor, 10, 1, -4, 0));
  expect_insn("lock xchg32 [%r10-4], %r1", encode(Op::Atomic32Xchg, 10, 1, -4, 0));
  expect_insn("lock cmpxchg [%r10-8], %r1", encode(Op::Atomic64Cmpxchg, 10, 1, -8, 0));
  expect_insn("call 5", encode(Op::Call, 0, 0, 0, 5));
  expect_insn("call %r2", encode(Op::Callx, 2, 0, 0, 0));
  expect_insn("call runtime 9", encode(Op::CallKfunc, 0, 0, 0, 9));
  expect_insn("ldabsh 12", encode(Op::LdAbsH, 0, 0, 0, 12));
  expect_insn("ldindw %r3, 4", encode(Op::LdIndW, 0, 3, 0, 4));
  expect_insn("exit", encode(Op::Exit, 0, 0, 0, 0), Syntax::Conformance);
  auto r = assemble("lddw %r0, 0x123456789abcdef0");
  ASSERT_TRUE(r);
  Insn want[2];
  encode_lddw(0, 0, 0x123456789abcdef0, want);
  EXPECT_TRUE(same((*r)[0], want[0]) && same((*r)[1], want[1]));
  r = assemble("lddw %r0, -1");
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)[0].imm, -1);
  EXPECT_EQ((*r)[1].imm, -1);
}

TEST(AssemblerConformance, LabelsLocalCallsAndTheImplicitExitLabel) {
  auto r = assemble(
      "mov %r0, 0\n"
      "jne %r0, 0, exit   # 'exit' names the first exit\n"
      "call local func1\n"
      "ja32 done\n"
      "done:\n"
      "exit\n"
      "func1:\n"
      "mov %r0, 1\n"
      "exit\n");
  ASSERT_TRUE(r) << r.status().message();
  ASSERT_EQ(r->size(), 7u);
  EXPECT_TRUE(same((*r)[1], encode(Op::Jne64K, 0, 0, 2, 0)));
  EXPECT_TRUE(same((*r)[2], encode(Op::CallLocal, 0, 0, 0, 2)));
  EXPECT_TRUE(same((*r)[3], encode(Op::Gotol, 0, 0, 0, 0)));
}

TEST(AssemblerSyntax, AutoDecidesPerLineAndForcedSyntaxRefusesTheOther) {
  auto r = assemble("mov %r0, 1\nr0 += 2\nexit\n");
  ASSERT_TRUE(r) << r.status().message();
  EXPECT_EQ(r->size(), 3u);
  EXPECT_NE(error_of("mov %r0, 1", Syntax::Kernel).find("line 1:"), std::string::npos);
  EXPECT_NE(error_of("r0 = 1", Syntax::Conformance).find("line 1:"), std::string::npos);
  r = assemble("", Syntax::Auto);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->empty());
}

TEST(AssemblerErrors, SayTheLineAndWhatIsWrong) {
  EXPECT_EQ(error_of("frob %r0, 1"), "line 1: unknown mnemonic 'frob'");
  EXPECT_EQ(error_of("exit\nmov %r11, 1"), "line 2: bad register '%r11'");
  EXPECT_EQ(error_of("r12 = 1"), "line 1: bad register 'r12'");
  EXPECT_EQ(error_of("mov %r0, 0x100000000"),
            "line 1: immediate 0x100000000 does not fit in 32 bits");
  EXPECT_NE(error_of("r0 = 4294967296").find("ll for a 64-bit constant"), std::string::npos);
  EXPECT_EQ(error_of("ja nowhere\nexit"), "line 1: undefined label 'nowhere'");
  EXPECT_EQ(error_of("a:\nexit\na:\nexit"),
            "line 3: duplicate label 'a' (first defined on line 1)");
  EXPECT_EQ(
      error_of("goto pc+40000"),
      "line 1: jump offset 40000 is out of the 16-bit range; use gotol (ja32) for long jumps");
  EXPECT_EQ(error_of("ldxw %r0, [%r1+40000]"),
            "line 1: offset 40000 is out of the signed 16-bit range");
  EXPECT_EQ(error_of("w1 += r2"), "line 1: mixing r and w registers in one instruction");
  EXPECT_EQ(error_of("r0 = *(s64 *)(r1 +0)"), "line 1: there is no sign-extending 64-bit load");
  EXPECT_EQ(error_of("r0 = *(x32 *)(r1 +0)"),
            "line 1: unknown type 'x32' (expected u8, u16, u32, u64, s8, s16 or s32)");
  EXPECT_EQ(error_of("lock *(u8 *)(r1 +0) += r2"),
            "line 1: no such instruction in the eBPF ISA (opcode 0xd3)");
  EXPECT_EQ(
      error_of("r1 = atomic_fetch_add((u64 *)(r0 +0), r1)"),
      "line 1: atomic_fetch_add does not go with u64 (atomic64_ is for u64, atomic_ for u32)");
  EXPECT_EQ(error_of("call bpf_map_lookup_elem#2"),
            "line 1: helper bpf_map_lookup_elem is #1, not #2");
  EXPECT_EQ(error_of("exit 5"), "line 1: unexpected '5' after the instruction");
  EXPECT_EQ(error_of("r0 = 1 @"), "line 1: unexpected character '@'");
  EXPECT_EQ(error_of("mov %r0, 99999999999999999999999"),
            "line 1: number '99999999999999999999999' does not fit in 64 bits");
}

TEST(AssemblerErrors, TooFarLabelJumpSuggestsGotol) {
  std::string text = "goto far\n";
  for (int i = 0; i < 40000; ++i) text += "r0 = 0\n";
  text += "far: exit\n";
  EXPECT_EQ(error_of(text),
            "line 1: jump to 'far' is 40000 instructions away, beyond a 16-bit offset; use gotol");
  text.replace(0, 4, "gotol");
  EXPECT_TRUE(assemble(text));
  EXPECT_NE(error_of("ja far\n" + text.substr(text.find('\n') + 1)).find("use ja32"),
            std::string::npos);
}

}  // namespace
}  // namespace bpfbox::isa
