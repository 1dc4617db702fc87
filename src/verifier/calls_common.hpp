// What the calls, references and rewrite files share: small kernel helpers (register_is_null,
// find_subprog, the return-range check and its message) and the acquired-reference bookkeeping
// (refs.cpp). Register marking and type names are the core's (verifier/regs.hpp).
#pragma once

#include <cstdint>
#include <string>

#include "bpfbox/status.hpp"
#include "verifier/env.hpp"
#include "verifier/state.hpp"

namespace bpfbox::verifier::calls {

constexpr int kMaxBpfFuncRegArgs = 5;

inline FuncState& cur_frame(Env& env) {
  return env.cur_state->cur();
}
inline RegState* cur_regs(Env& env) {
  return env.cur_state->cur().regs.data();
}

// register_is_null: a scalar known to be 0.
bool register_is_null(const RegState& reg);

// func_id_name(): the kernel's helper name, "unknown" past the known ones.
const char* func_id_name(int32_t id);

// clear_all_pkt_pointers(): after a helper (or a global function) that may move the packet, no
// packet pointer is valid.
void clear_all_pkt_pointers(Env& env);

// The subprogram starting at insn (find_subprog), or -1.
int find_subprog(const Env& env, uint32_t insn);
// The subprogram holding insn.
uint32_t subprog_of(const Env& env, uint32_t insn);

// retval_range_within() on 64-bit signed bounds.
bool retval_in_range(const RegState& reg, int64_t min, int64_t max);
// verbose_invalid_scalar(): "<ctx> the register <name> has smin=.. smax=.. should have been in
// [min, max]".
void verbose_invalid_scalar(Env& env, const RegState& reg, int64_t min, int64_t max,
                            const char* ctx, const char* reg_name);

// --- references (refs.cpp) ----------------------------------------------------------------------
// acquire_reference(): a new reference id held by this path, remembered with its insn.
uint32_t acquire_reference(Env& env, uint32_t insn_idx);
// release_reference(): drops the reference and invalidates every register and spilled copy holding
// it in every frame. EINVAL when the path does not hold it.
Status release_reference(Env& env, uint32_t ref_obj_id);
// check_reference_leak(): at the main program's exit (or a tail call) every acquired pointer
// reference must be released: "Unreleased reference id=%d alloc_insn=%d" for each.
bool check_reference_leak(Env& env, bool exception_exit);
// check_resource_leak(): references, and with check_lock the spin lock, before leaving the program.
Status check_resource_leak(Env& env, bool exception_exit, bool check_lock, const char* prefix);
// process_spin_lock(): bpf_spin_lock (is_lock) / bpf_spin_unlock on the lock register regno.
Status process_spin_lock(Env& env, int regno, bool is_lock);

// check_func_arg_reg_off() (helper_call.cpp): only memory pointers may carry an offset.
Status check_arg_reg_off(Env& env, const RegState& reg, int regno, uint32_t arg_type);

// An EACCES/EINVAL Status carrying the last log line as its message.
Status refuse(Env& env, int err);

}  // namespace bpfbox::verifier::calls
