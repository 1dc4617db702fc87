// The eBPF instruction set: one enumeration of every operation, generated from ops.def, and what
// each operation is (its kind, width, operand form, memory size).
#pragma once

#include <cstdint>

#include "isa/uapi.hpp"

namespace bpfbox::isa {

using Insn = struct bpf_insn;
static_assert(sizeof(Insn) == 8);

constexpr int kMaxReg = 10;  // r0..r10; r10 is the read-only frame pointer
// The scratch register of the verifier's rewrite (BPF_REG_AX): only xlated programs use it, and
// only in ALU instructions (the Spectre masking sequence); the engines give it a register of its
// own.
constexpr int kRegAx = 11;
constexpr int kStackSize = 512;
constexpr int kMaxCallFrames = 8;

// Which field tells apart operations that share an opcode byte.
enum class Discr : uint8_t { None, Off, Imm, Src };

// Fields that must be zero for an operation (the kernel's "uses reserved fields").
namespace Zero {
enum : uint8_t { Dst = 1, Src = 2, Off = 4, Imm = 8 };
}

enum class Op : uint8_t {
#define BPFBOX_OP(name, ...) name,
#include "isa/ops.def"
#undef BPFBOX_OP
  Count
};
constexpr int kOpCount = static_cast<int>(Op::Count);

enum class Kind : uint8_t {
  Alu,        // dst = dst OP src/imm
  Neg,        // dst = -dst
  Mov,        // dst = src/imm
  Movsx,      // dst = sign-extend(src, size bits)
  End,        // le/be/bswap, size bits
  Ja,         // goto pc+off
  Gotol,      // goto pc+imm
  Jcond,      // if dst OP src/imm goto pc+off
  Call,       // helper call, imm = helper id
  CallLocal,  // bpf-to-bpf call, imm = pc-relative
  CallKfunc,  // call by BTF id
  Callx,      // call the address in dst
  Exit,
  MayGoto,   // goto pc+off once the loop budget is spent
  Lddw,      // two slots: dst = imm64 (src = pseudo source)
  LdAbs,     // r0 = ntoh(packet[imm])
  LdInd,     // r0 = ntoh(packet[src + imm])
  Ldx,       // dst = *(size *)(src + off)
  Ldxs,      // dst = sign-extend(*(size *)(src + off))
  St,        // *(size *)(dst + off) = imm
  Nospec,    // speculation barrier (BPF_ST | BPF_NOSPEC): nothing architecturally
  Stx,       // *(size *)(dst + off) = src
  Atomic,    // lock *(size *)(dst + off) OP= src, imm = BPF_ADD/.../BPF_CMPXCHG
  LoadAcq,   // dst = load_acquire(src + off)
  StoreRel,  // store_release(dst + off, src)
};

struct OpInfo {
  const char* name;      // the enumerator, "Add64K"
  const char* mnemonic;  // the conformance suite's mnemonic, "add"
  uint8_t code;          // opcode byte
  Discr discr;
  int32_t discr_value;
  uint8_t zero_mask;  // Zero:: flags
  Kind kind;
  uint8_t op;     // BPF_OP(code) for ALU and JMP classes, BPF_MODE(code) for memory classes
  bool is64;      // ALU64/JMP class, or a 64-bit atomic; false for ALU/JMP32
  bool uses_src;  // BPF_X form: the source operand is a register
  uint8_t size;   // bytes for memory ops; bits for End and Movsx
};

const OpInfo& info(Op op);
inline const char* name(Op op) {
  return info(op).name;
}

}  // namespace bpfbox::isa
