// Register states: the kernel's mark_reg_* family, the initial state of a frame, the operand check
// every instruction makes (check_reg_arg) and the names the log gives register types.
#pragma once

#include <cstdint>
#include <string>

#include "bpfbox/status.hpp"
#include "verifier/env.hpp"
#include "verifier/state.hpp"

namespace bpfbox::verifier {

// How an instruction uses a register operand (enum reg_arg_type).
enum class RegArg : uint8_t {
  Src,        // read: must be initialised
  Dst,        // written: becomes an unknown scalar until the instruction sets it
  DstNoMark,  // written, but the caller sets the new state itself
};

// reg_type_str(): "map_value_or_null", "rdonly_mem", "pkt_end", "fp", "scalar".
std::string reg_type_str(uint32_t type);

// A register holding nothing known: an unbounded scalar. Unprivileged loads mark scalars precise
// from the start, as the kernel does (precision tracking is a privileged optimisation).
void mark_reg_unknown(const Env& env, RegState& reg);
// The bounds of a constant, keeping the type (___mark_reg_known / __mark_reg_known).
void mark_reg_known(RegState& reg, uint64_t imm);
// A pointer with offset zero: every per-type fact cleared, bounds zero; the caller sets the type.
void mark_reg_known_zero(RegState& reg);
// Unreadable (the caller-saved registers after a call).
void mark_reg_not_init(RegState& reg);
// A scalar constant in a register (the result of `r = imm`, a known load).
void mark_reg_scalar_const(RegState& reg, uint64_t imm);

// The state of a fresh frame: r1..r9 unreadable, r10 the frame pointer of `frameno`.
void init_reg_state(FuncState& frame, uint32_t frameno);

// check_reg_arg(): "R%d is invalid", "R%d !read_ok" (EACCES), "frame pointer is read only";
// marks the register scratched for the log and, for Dst, unknown.
Status check_reg_arg(Env& env, int regno, RegArg use);

// The value is a pointer the program may not see as a number (is_pointer_value): always false
// for privileged loads (allow_ptr_leaks).
bool is_pointer_value(const Env& env, const RegState& reg);

// Marks a register / stack slot as touched by the current instruction (the log prints those).
inline void mark_reg_scratched(Env& env, int regno) {
  env.scratched_regs |= 1u << regno;
}
inline void mark_stack_slot_scratched(Env& env, int spi) {
  if (spi >= 0 && spi < 64) env.scratched_stack |= uint64_t(1) << spi;
}

// Kernel helpers on a state.
inline bool reg_is_init_pkt_pointer(const RegState& r, uint32_t which) {
  return r.type == which && r.off == 0 && r.s.is_const() && r.s.const_value() == 0;
}
bool type_may_be_null(uint32_t type);
bool reg_type_not_null(const RegState& reg);

}  // namespace bpfbox::verifier
