// The one decoder every layer uses: raw instructions in, operations with their operands out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "bpfbox/status.hpp"
#include "isa/insn.hpp"

namespace bpfbox::isa {

struct Decoded {
  Op op = Op::Count;
  uint8_t dst = 0;
  uint8_t src = 0;  // for Lddw: the pseudo source (BPF_PSEUDO_*), for calls: BPF_PSEUDO_CALL etc.
  int16_t off = 0;
  int32_t imm = 0;
  uint64_t imm64 = 0;  // Lddw: both halves joined
  uint8_t slots = 1;   // 2 for Lddw; 0 marks the second slot of an Lddw in a decoded program

  const OpInfo& info() const { return isa::info(op); }
  // The pc a jump, local call or BPF_PSEUDO_FUNC load refers to, if it has one.
  std::optional<int64_t> target(size_t pc) const;
};

// Identifies the operation of one instruction by its opcode byte and discriminating field.
std::optional<Op> identify(const Insn& insn);

// Decodes the instruction at pc: EINVAL with a message naming the pc and opcode when it is not a
// valid instruction (unknown opcode, reserved fields set, bad register, truncated Lddw).
Status decode(std::span<const Insn> prog, size_t pc, Decoded& out);

// Decodes a whole program, one entry per slot, and checks what every engine relies on: each
// instruction valid, jump and call targets inside the program and not inside an Lddw, the last
// instruction an exit or a jump.
Result<std::vector<Decoded>> decode_program(std::span<const Insn> prog);

// Encoders: the inverse of decode.
Insn encode(Op op, uint8_t dst, uint8_t src, int16_t off, int32_t imm);
void encode_lddw(uint8_t dst, uint8_t pseudo_src, uint64_t imm64, Insn out[2]);

// The kernel's limit on program size for privileged loaders.
constexpr size_t kMaxInsns = 1000000;

}  // namespace bpfbox::isa
