// The verifier's passes, in the order verify() (verify.cpp) runs them, as bpf_check() does. Each
// returns the kernel's errno with its message already in env.log (Env::verbose).
//
// Owners: structure.cpp/cfg.cpp/verify.cpp (the front), do_check.cpp and the files it uses (the
// core), calls.cpp/fixup.cpp/patch.cpp (calls, references and the rewrite).
#pragma once

#include <cstdint>

#include "bpfbox/status.hpp"
#include "verifier/env.hpp"

namespace bpfbox::verifier {

// --- front -------------------------------------------------------------------------------------
// Size limits (E2BIG), then every instruction decoded with the isa layer's checks (unknown
// opcodes, reserved fields: EINVAL with the kernel's messages).
Status check_program(Env& env);
// lddw pseudo sources: map fds (BPF_PSEUDO_MAP_FD/VALUE/IDX/IDX_VALUE) resolved into
// env.used_maps and aux.map_ptr; BPF_PSEUDO_FUNC checked; anything else refused
// (resolve_pseudo_ldimm64).
Status resolve_pseudo_ldimm64(Env& env);
// Subprogram boundaries from calls and BPF_PSEUDO_FUNC (env.subprogs), jumps within their
// subprogram, the last instruction an exit or jump (check_subprogs).
Status check_subprogs(Env& env);
// Which subprograms may move the packet: a helper with changes_pkt_data in them or in what they
// call (SubprogInfo::changes_pkt_data; a call to a global one invalidates packet pointers).
void mark_subprogs_changes_pkt_data(Env& env);
// Depth-first walk: unreachable instructions, jumps into lddw, back-edges where loops are not
// allowed, prune and jump points marked in env.aux (check_cfg).
Status check_cfg(Env& env);

// --- core --------------------------------------------------------------------------------------
// Explores every path of the main program (and of each global subprogram on its own), with state
// pruning; calls into the calls pass for call/exit instructions (do_check_main).
Status do_check(Env& env);
// The same from subprogram `subprog`'s entry (do_check_common): the main program (0) or a global
// function, whose frame 0 init_global_func_state() sets up.
Status do_check_common(Env& env, uint32_t subprog);

// --- calls, references, rewrite ----------------------------------------------------------------
// insn_idx follows the kernel's do_check: after check_helper_call and check_func_call the loop
// advances to *insn_idx + 1 as after any instruction (a call sets it to the callee's start - 1);
// after prepare_func_exit, *insn_idx is the next instruction to check itself (the caller's
// instruction after the call, or the callback's call site to re-check), with no advance.
//
// A helper call at *insn_idx against the type's prototype (check_helper_call).
Status check_helper_call(Env& env, uint32_t* insn_idx);
// A bpf-to-bpf call: pushes a frame (check_func_call); callbacks likewise.
Status check_func_call(Env& env, uint32_t* insn_idx);
// Global functions (BTF_FUNC_GLOBAL, func_call.cpp): each one a path reaches is verified on its
// own after the main program, from its BTF prototype's arguments (do_check_subprogs), and
// init_global_func_state() gives frame 0 those arguments ("Validating %s() func#%d...").
Status do_check_subprogs(Env& env);
Status init_global_func_state(Env& env, FuncState& frame, uint32_t subprog);
// The main program's BTF prototype is checked (and marked unreliable when it is not f(ctx)).
void check_main_func_btf(Env& env);
// An exit from a subprogram or callback: pops a frame (prepare_func_exit).
Status prepare_func_exit(Env& env, uint32_t* insn_idx);
// Exit of the main program: references released, lock released, r0 in the type's range.
Status check_main_exit(Env& env);
// Combined stack of the deepest call chain ≤ 512 (check_max_stack_depth).
Status check_max_stack_depth(Env& env);
// The rewrite to the xlated program: dead code removed, context accesses converted, map
// references turned into addresses, helper calls resolved into the program's helper table,
// array lookups inlined (opt_remove_dead_code, convert_ctx_accesses, do_misc_fixups).
Status fixup(Env& env, Program& out);

}  // namespace bpfbox::verifier
