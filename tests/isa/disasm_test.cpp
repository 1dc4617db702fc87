// The disassembler against the exact text kernel/bpf/disasm.c prints for each form.
#include <gtest/gtest.h>

#include "isa/decoder.hpp"
#include "isa/disasm.hpp"

namespace bpfbox::isa {
namespace {

std::string text(const Insn& insn, const DisasmOptions& opts = {}) {
  Insn prog[1] = {insn};
  Decoded d;
  EXPECT_TRUE(decode(prog, 0, d)) << "opcode " << int(insn.code);
  return disassemble(d, opts);
}

std::string lddw(uint8_t dst, uint8_t pseudo, uint64_t imm64, const DisasmOptions& opts = {}) {
  Insn prog[2];
  encode_lddw(dst, pseudo, imm64, prog);
  Decoded d;
  EXPECT_TRUE(decode(prog, 0, d));
  return disassemble(d, opts);
}

TEST(Disasm, AluAndMov) {
  EXPECT_EQ(text(encode(Op::Mov64K, 0, 0, 0, 1)), "r0 = 1");
  EXPECT_EQ(text(encode(Op::Mov64K, 0, 0, 0, -1)), "r0 = -1");
  EXPECT_EQ(text(encode(Op::Mov32X, 0, 1, 0, 0)), "w0 = w1");
  EXPECT_EQ(text(encode(Op::Mov64X, 3, 10, 0, 0)), "r3 = r10");
  EXPECT_EQ(text(encode(Op::Add64X, 1, 2, 0, 0)), "r1 += r2");
  EXPECT_EQ(text(encode(Op::Sub32K, 1, 0, 0, -3)), "w1 -= -3");
  EXPECT_EQ(text(encode(Op::Mul64K, 1, 0, 0, 7)), "r1 *= 7");
  EXPECT_EQ(text(encode(Op::Div64X, 1, 2, 0, 0)), "r1 /= r2");
  EXPECT_EQ(text(encode(Op::Sdiv32K, 1, 0, 0, 3)), "w1 s/= 3");
  EXPECT_EQ(text(encode(Op::Smod64X, 1, 2, 0, 0)), "r1 s%= r2");
  EXPECT_EQ(text(encode(Op::Mod32K, 1, 0, 0, 3)), "w1 %= 3");
  EXPECT_EQ(text(encode(Op::Or64K, 1, 0, 0, 8)), "r1 |= 8");
  EXPECT_EQ(text(encode(Op::And32X, 1, 2, 0, 0)), "w1 &= w2");
  EXPECT_EQ(text(encode(Op::Lsh64K, 1, 0, 0, 32)), "r1 <<= 32");
  EXPECT_EQ(text(encode(Op::Rsh32X, 1, 2, 0, 0)), "w1 >>= w2");
  EXPECT_EQ(text(encode(Op::Arsh64K, 1, 0, 0, 4)), "r1 s>>= 4");
  EXPECT_EQ(text(encode(Op::Xor64X, 1, 2, 0, 0)), "r1 ^= r2");
  EXPECT_EQ(text(encode(Op::Neg64, 0, 0, 0, 0)), "r0 = -r0");
  EXPECT_EQ(text(encode(Op::Neg32, 4, 0, 0, 0)), "w4 = -w4");
}

TEST(Disasm, SignExtendingMovesAndByteSwaps) {
  EXPECT_EQ(text(encode(Op::Movsx64_8, 0, 1, 0, 0)), "r0 = (s8)r1");
  EXPECT_EQ(text(encode(Op::Movsx64_32, 0, 1, 0, 0)), "r0 = (s32)r1");
  EXPECT_EQ(text(encode(Op::Movsx32_16, 0, 1, 0, 0)), "w0 = (s16)w1");
  EXPECT_EQ(text(encode(Op::Be16, 1, 0, 0, 0)), "r1 = be16 r1");
  EXPECT_EQ(text(encode(Op::Le32, 1, 0, 0, 0)), "r1 = le32 r1");
  EXPECT_EQ(text(encode(Op::Bswap64, 1, 0, 0, 0)), "r1 = bswap64 r1");
}

TEST(Disasm, Jumps) {
  EXPECT_EQ(text(encode(Op::Jeq64K, 1, 0, 1, 0)), "if r1 == 0x0 goto pc+1");
  EXPECT_EQ(text(encode(Op::Jsgt32X, 1, 2, -3, 0)), "if w1 s> w2 goto pc-3");
  EXPECT_EQ(text(encode(Op::Jne64K, 1, 0, 0, -1)), "if r1 != 0xffffffff goto pc+0");
  EXPECT_EQ(text(encode(Op::Jset64X, 1, 2, 2, 0)), "if r1 & r2 goto pc+2");
  EXPECT_EQ(text(encode(Op::Jsle32K, 3, 0, 5, 16)), "if w3 s<= 0x10 goto pc+5");
  EXPECT_EQ(text(encode(Op::Ja, 0, 0, 3, 0)), "goto pc+3");
  EXPECT_EQ(text(encode(Op::Gotol, 0, 0, 0, 100000)), "gotol pc+100000");
  EXPECT_EQ(text(encode(Op::MayGoto, 0, 0, 2, 0)), "may_goto pc+2");
  EXPECT_EQ(text(encode(Op::Exit, 0, 0, 0, 0)), "exit");
}

TEST(Disasm, Calls) {
  EXPECT_EQ(text(encode(Op::Call, 0, 0, 0, 1)), "call bpf_map_lookup_elem#1");
  EXPECT_EQ(text(encode(Op::Call, 0, 0, 0, 0)), "call bpf_unspec#0");
  EXPECT_EQ(text(encode(Op::Call, 0, 0, 0, 100000)), "call unknown#100000");
  EXPECT_EQ(text(encode(Op::CallLocal, 0, 0, 0, 5)), "call pc+5");
  EXPECT_EQ(text(encode(Op::CallLocal, 0, 0, 0, -7)), "call pc-7");
  EXPECT_EQ(text(encode(Op::CallKfunc, 0, 0, 0, 1234)), "call kernel-function#1234");
  EXPECT_EQ(text(encode(Op::CallKfunc, 0, 0, 2, 1234)), "call kernel-function#1234 off:2");
  EXPECT_EQ(text(encode(Op::Callx, 2, 0, 0, 0)), "callx r2");
  DisasmOptions named;
  named.helper_name = [](int32_t id) { return "my_helper_" + std::to_string(id); };
  EXPECT_EQ(text(encode(Op::Call, 0, 0, 0, 7), named), "call my_helper_7#7");
}

TEST(Disasm, LoadsAndStores) {
  EXPECT_EQ(text(encode(Op::LdxW, 0, 1, 4, 0)), "r0 = *(u32 *)(r1 +4)");
  EXPECT_EQ(text(encode(Op::LdxDW, 0, 10, -8, 0)), "r0 = *(u64 *)(r10 -8)");
  EXPECT_EQ(text(encode(Op::LdxsB, 0, 1, -1, 0)), "r0 = *(s8 *)(r1 -1)");
  EXPECT_EQ(text(encode(Op::LdxsW, 2, 1, 0, 0)), "r2 = *(s32 *)(r1 +0)");
  EXPECT_EQ(text(encode(Op::StxW, 10, 0, -4, 0)), "*(u32 *)(r10 -4) = r0");
  EXPECT_EQ(text(encode(Op::StDW, 10, 0, -8, 42)), "*(u64 *)(r10 -8) = 42");
  EXPECT_EQ(text(encode(Op::StH, 1, 0, 2, -5)), "*(u16 *)(r1 +2) = -5");
  EXPECT_EQ(text(encode(Op::LdAbsH, 0, 0, 0, 12)), "r0 = *(u16 *)skb[12]");
  EXPECT_EQ(text(encode(Op::LdIndB, 0, 3, 0, 14)), "r0 = *(u8 *)skb[r3 + 14]");
}

TEST(Disasm, Atomics) {
  EXPECT_EQ(text(encode(Op::Atomic64Add, 0, 1, 0, 0)), "lock *(u64 *)(r0 +0) += r1");
  EXPECT_EQ(text(encode(Op::Atomic32Xor, 10, 2, -4, 0)), "lock *(u32 *)(r10 -4) ^= r2");
  EXPECT_EQ(text(encode(Op::Atomic64FetchAdd, 0, 1, 0, 0)),
            "r1 = atomic64_fetch_add((u64 *)(r0 +0), r1)");
  EXPECT_EQ(text(encode(Op::Atomic32FetchAnd, 0, 1, 8, 0)),
            "r1 = atomic_fetch_and((u32 *)(r0 +8), r1)");
  EXPECT_EQ(text(encode(Op::Atomic32Xchg, 2, 1, 0, 0)), "r1 = atomic_xchg((u32 *)(r2 +0), r1)");
  EXPECT_EQ(text(encode(Op::Atomic64Cmpxchg, 1, 2, 0, 0)),
            "r0 = atomic64_cmpxchg((u64 *)(r1 +0), r0, r2)");
  EXPECT_EQ(text(encode(Op::LoadAcqDW, 0, 1, 0, 0)), "r0 = load_acquire((u64 *)(r1 +0))");
  EXPECT_EQ(text(encode(Op::LoadAcqB, 0, 1, 0, 0)), "r0 = load_acquire((u8 *)(r1 +0))");
  EXPECT_EQ(text(encode(Op::StoreRelW, 1, 2, 0, 0)), "store_release((u32 *)(r1 +0), r2)");
}

TEST(Disasm, WideLoads) {
  EXPECT_EQ(lddw(1, 0, 0x1122334455667788), "r1 = 0x1122334455667788");
  EXPECT_EQ(lddw(0, 0, 0), "r0 = 0x0");
  DisasmOptions llvm;
  llvm.lddw_ll_suffix = true;
  EXPECT_EQ(lddw(1, 0, 1, llvm), "r1 = 0x1 ll");
  EXPECT_EQ(lddw(1, BPF_PSEUDO_MAP_FD, 5), "r1 = map[fd:5]");
  EXPECT_EQ(lddw(1, BPF_PSEUDO_MAP_FD, 0x700000005), "r1 = map[fd:5] hi:7");
  EXPECT_EQ(lddw(1, BPF_PSEUDO_MAP_VALUE, (16ull << 32) | 5), "r1 = map[fd:5][0]+16");
  EXPECT_EQ(lddw(2, BPF_PSEUDO_MAP_IDX, 3), "r2 = map[idx:3]");
  EXPECT_EQ(lddw(2, BPF_PSEUDO_MAP_IDX_VALUE, (16ull << 32) | 3), "r2 = map[idx:3]+16");
  EXPECT_EQ(lddw(3, BPF_PSEUDO_BTF_ID, 123), "r3 = btf_id[123]");
  EXPECT_EQ(lddw(3, BPF_PSEUDO_BTF_ID, (4ull << 32) | 123), "r3 = btf_id[123] btf_fd:4");
  EXPECT_EQ(lddw(4, BPF_PSEUDO_FUNC, 5), "r4 = subprog[+5]");
  EXPECT_EQ(lddw(4, BPF_PSEUDO_FUNC, 0xfffffffd), "r4 = subprog[-3]");
}

TEST(Disasm, HelperNamesComeFromTheUapiMapper) {
  EXPECT_STREQ(kernel_helper_name(0), "bpf_unspec");
  EXPECT_STREQ(kernel_helper_name(BPF_FUNC_map_lookup_elem), "bpf_map_lookup_elem");
  EXPECT_STREQ(kernel_helper_name(BPF_FUNC_trace_printk), "bpf_trace_printk");
  EXPECT_STREQ(kernel_helper_name(BPF_FUNC_user_ringbuf_drain), "bpf_user_ringbuf_drain");
  EXPECT_STREQ(kernel_helper_name(210), "bpf_cgrp_storage_get");
  EXPECT_STREQ(kernel_helper_name(211), "bpf_cgrp_storage_delete");
  EXPECT_STREQ(kernel_helper_name(212), "unknown");
  EXPECT_STREQ(kernel_helper_name(-1), "unknown");
  EXPECT_EQ(kernel_helper_id("bpf_ktime_get_ns"), BPF_FUNC_ktime_get_ns);
  EXPECT_EQ(kernel_helper_id("bpf_no_such_helper"), std::nullopt);
  for (int32_t id = 0; id < kernel_helper_count(); ++id)
    EXPECT_EQ(kernel_helper_id(kernel_helper_name(id)), id) << kernel_helper_name(id);
}

TEST(Disasm, ProgramListsPcAndOpcodeLikeTheVerifierLog) {
  Insn prog[5];
  prog[0] = encode(Op::Mov64K, 0, 0, 0, 1);
  encode_lddw(1, 0, 0x1122334455667788, &prog[1]);
  prog[3] = encode(Op::Jeq64K, 1, 0, -4, 0);
  prog[4] = encode(Op::Exit, 0, 0, 0, 0);
  EXPECT_EQ(disassemble_program(prog),
            "0: (b7) r0 = 1\n"
            "1: (18) r1 = 0x1122334455667788\n"
            "3: (15) if r1 == 0x0 goto pc-4\n"
            "4: (95) exit\n");
}

TEST(Disasm, InvalidInstructionsPrintAsInvalid) {
  Insn prog[3] = {{.code = 0x8e}, encode(Op::Exit, 0, 0, 0, 0), {.code = 0x18}};
  EXPECT_EQ(disassemble_program(prog),
            "0: (8e) invalid\n"
            "1: (95) exit\n"
            "2: (18) invalid\n");
}

}  // namespace
}  // namespace bpfbox::isa
