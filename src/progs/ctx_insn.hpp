// Building the instructions convert_ctx_access emits (the kernel's BPF_LDX_MEM, BPF_EMIT_STORE,
// ... macros), and the offset arithmetic of the kernel's bpf_ctx_range() case labels.
#pragma once

#include <cstddef>
#include <cstdint>

#include <linux/bpf.h>

namespace bpfbox::progs {

constexpr bpf_insn raw_insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn i{};
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}
// dst = *(size *)(src + off)
constexpr bpf_insn ldx_mem(uint8_t size, uint8_t dst, uint8_t src, size_t off) {
  return raw_insn(BPF_LDX | size | BPF_MEM, dst, src, static_cast<int16_t>(off), 0);
}
// The store `si` asked for (BPF_STX or BPF_ST: value register or immediate), at another offset and
// size: the kernel's BPF_EMIT_STORE.
constexpr bpf_insn emit_store(uint8_t size, const bpf_insn& si, size_t off) {
  return raw_insn(static_cast<uint8_t>(BPF_CLASS(si.code) | size | BPF_MEM), si.dst_reg, si.src_reg,
                  static_cast<int16_t>(off), si.imm);
}
constexpr bpf_insn alu32_imm(uint8_t op, uint8_t dst, int32_t imm) {
  return raw_insn(BPF_ALU | op | BPF_K, dst, 0, 0, imm);
}
constexpr bpf_insn mov64_imm(uint8_t dst, int32_t imm) {
  return raw_insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm);
}
constexpr bpf_insn jmp_imm(uint8_t op, uint8_t dst, int32_t imm, int16_t off) {
  return raw_insn(BPF_JMP | op | BPF_K, dst, 0, off, imm);
}
constexpr bpf_insn jmp_a(int16_t off) {
  return raw_insn(BPF_JMP | BPF_JA, 0, 0, off, 0);
}

// [offsetof(member), offsetofend(member)): the kernel's bpf_ctx_range() as a test.
constexpr bool in_field(int32_t off, size_t field_off, size_t field_size) {
  return off >= static_cast<int32_t>(field_off) &&
         off < static_cast<int32_t>(field_off + field_size);
}
// bpf_ctx_narrow_access_ok(): a power-of-two size no larger than the field.
constexpr bool narrow_access_ok(uint32_t size, uint32_t size_default) {
  return size <= size_default && (size & (size - 1)) == 0;
}

}  // namespace bpfbox::progs

#define BPFBOX_CTX_FIELD(type, member) offsetof(type, member), sizeof(((type*)nullptr)->member)
