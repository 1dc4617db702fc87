// The words of the kernel log's syntax (kernel/bpf/disasm.c), shared by the disassembler and the
// assembler so both read and write the same text: operators by BPF_OP, type names by BPF_SIZE.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "isa/uapi.hpp"

namespace bpfbox::isa::syntax {

struct OpWord {
  uint8_t op;  // BPF_OP value (ALU/JMP) or atomic operation
  std::string_view text;
};

// "r1 += r2": the compound assignment of each ALU operation (mov is "=", handled apart).
inline constexpr OpWord kAluOps[] = {
    {BPF_ADD, "+="}, {BPF_SUB, "-="}, {BPF_MUL, "*="},    {BPF_DIV, "/="},
    {BPF_OR, "|="},  {BPF_AND, "&="}, {BPF_LSH, "<<="},   {BPF_RSH, ">>="},
    {BPF_MOD, "%="}, {BPF_XOR, "^="}, {BPF_ARSH, "s>>="},
};
// The signed forms (off == 1): "r1 s/= r2", "w1 s%= 3".
inline constexpr OpWord kSignedAluOps[] = {{BPF_DIV, "s/="}, {BPF_MOD, "s%="}};

// "if r1 s> r2 goto pc+1".
inline constexpr OpWord kJmpOps[] = {
    {BPF_JEQ, "=="}, {BPF_JGT, ">"},   {BPF_JGE, ">="},   {BPF_JSET, "&"},
    {BPF_JNE, "!="}, {BPF_JSGT, "s>"}, {BPF_JSGE, "s>="}, {BPF_JLT, "<"},
    {BPF_JLE, "<="}, {BPF_JSLT, "s<"}, {BPF_JSLE, "s<="},
};

// "atomic64_fetch_add": the word of each atomic ALU operation (without BPF_FETCH).
inline constexpr OpWord kAtomicOps[] = {
    {BPF_ADD, "add"}, {BPF_AND, "and"}, {BPF_OR, "or"}, {BPF_XOR, "xor"}};

struct SizeWord {
  uint8_t size;  // BPF_SIZE value
  uint8_t bytes;
  std::string_view unsigned_type;  // "u32"
  std::string_view signed_type;    // "s32" (sign-extending loads)
};
inline constexpr SizeWord kSizes[] = {{BPF_B, 1, "u8", "s8"},
                                      {BPF_H, 2, "u16", "s16"},
                                      {BPF_W, 4, "u32", "s32"},
                                      {BPF_DW, 8, "u64", "s64"}};

constexpr std::string_view text_of(std::span<const OpWord> table, uint8_t op) {
  for (const auto& w : table)
    if (w.op == op) return w.text;
  return {};
}

constexpr const SizeWord* size_by_bytes(unsigned bytes) {
  for (const SizeWord& s : kSizes)
    if (s.bytes == bytes) return &s;
  return nullptr;
}

}  // namespace bpfbox::isa::syntax
