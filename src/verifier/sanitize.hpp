// The unprivileged defences against speculative execution, as the kernel's verifier has them
// (!bypass_spec_v1 / !bypass_spec_v4):
// - Spectre v1, branches: the direction a conditional jump proved impossible is still explored,
//   as a speculative path (sanitize_speculative_path); an error found there does not refuse the
//   program (kernel 6.17+) but puts a speculation barrier before the faulting instruction
//   (InsnAux::nospec) and ends that path.
// - Spectre v1, pointer arithmetic: `ptr += reg` / `ptr -= reg` gets a masking sequence so that a
//   mispredicted offset becomes 0 (sanitize_ptr_alu, retrieve_ptr_limit): the limit and the form
//   are recorded per instruction (InsnAux::alu_state, alu_limit) and must agree on every path.
// - Spectre v4: a stack write that may overwrite a pointer (or uninitialised stack) gets a barrier
//   after it (InsnAux::nospec_result).
// The rewrite (fixup's sanitize pass) turns these marks into instructions.
#pragma once

#include <cstdint>

#include <linux/bpf.h>

#include "bpfbox/status.hpp"
#include "verifier/env.hpp"
#include "verifier/state.hpp"

namespace bpfbox::verifier {

// InsnAux::alu_state bits (the kernel's BPF_ALU_*).
constexpr uint32_t BPF_ALU_SANITIZE_SRC = 1u << 0;  // the offset is the source register
constexpr uint32_t BPF_ALU_SANITIZE_DST = 1u << 1;  // the offset is the destination register
constexpr uint32_t BPF_ALU_NEG_VALUE = 1u << 2;     // the offset is negative
constexpr uint32_t BPF_ALU_NON_POINTER = 1u << 3;   // scalar arithmetic: nothing to mask
constexpr uint32_t BPF_ALU_IMMEDIATE = 1u << 4;     // the offset is a known constant
constexpr uint32_t BPF_ALU_SANITIZE = BPF_ALU_SANITIZE_SRC | BPF_ALU_SANITIZE_DST;

// Why sanitation is impossible (enum sanitize_reason); each has its own message in sanitize_err.
enum SanitizeReason : int {
  REASON_BOUNDS = -1,  // an unknown offset of mixed sign
  REASON_TYPE = -2,    // a pointer type without a known limit
  REASON_PATHS = -3,   // paths disagree on the mask of this instruction
  REASON_LIMIT = -4,   // the pointer is already outside its object
  REASON_STACK = -5,   // the speculative path could not be pushed
};

// What the first look at a pointer ADD/SUB found, for the commit after the result is known.
struct SanitizeInfo {
  uint32_t alu_state = 0;
  uint32_t alu_limit = 0;
  bool mask_to_left = false;
};

// can_skip_alu_sanitation(): privileged, an immediate, or a barrier already stops speculation.
bool can_skip_alu_sanitation(const Env& env, const struct bpf_insn& insn);

// sanitize_val_alu(): scalar ADD/SUB by a register records BPF_ALU_NON_POINTER, so a path that
// reaches the same instruction with a pointer is refused (REASON_PATHS). 0 or a reason.
int sanitize_val_alu(Env& env, const struct bpf_insn& insn);

// sanitize_ptr_alu(): `ptr` moved by `off` into `dst` (the current state's destination register).
// First call (commit false) before the operation: the offset's sign and the pointer's limit; a
// speculative path where the offset was masked to 0 is pushed. Second call (commit true) with
// the result in `ptr`: the mask is narrowed to the move observed and recorded on the
// instruction. Returns 0 or a SanitizeReason.
int sanitize_ptr_alu(Env& env, const struct bpf_insn& insn, const RegState& ptr,
                     const RegState& off, RegState& dst, bool ptr_is_dst, SanitizeInfo& info,
                     bool commit);

// sanitize_err(): the kernel's message for a reason; EACCES (ENOMEM for REASON_STACK).
// off_is_dst: the offset is the destination register (scalar += pointer).
Status sanitize_err(Env& env, const struct bpf_insn& insn, int reason, bool off_is_dst);

// sanitize_speculative_path(): pushes the path a mispredicted branch would take, from next_idx,
// marked speculative; the jump's operands become unknown there (insn == nullptr: left as is).
// nullptr when the branch stack is full.
VerifierState* sanitize_speculative_path(Env& env, const struct bpf_insn* insn, uint32_t next_idx,
                                         uint32_t curr_idx);

// error_recoverable_with_nospec(): the errors a speculative path may end with, a barrier put
// before the instruction instead of a refusal.
inline bool error_recoverable_with_nospec(int err) {
  return err == EPERM || err == EACCES || err == EINVAL;
}

// is_spillable_regtype(): a pointer the stack may hold, whose overwrite a Spectre v4 bypass could
// undo.
bool is_spillable_regtype(uint32_t type);

// The Spectre v4 mark of a stack write of `size` bytes into `slot` (check_stack_write_fixed_off):
// a barrier after the store when it spills a pointer or overwrites anything but data.
void sanitize_stack_write(Env& env, const StackSlot& slot, uint32_t size, const RegState* value);

}  // namespace bpfbox::verifier
