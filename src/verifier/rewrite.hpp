// The steps of the rewrite to the xlated program (fixup() in fixup.cpp runs them in the kernel's
// order, after verification succeeded): each works on env.insns with the patcher (patch.hpp).
#pragma once

#include "bpfbox/status.hpp"
#include "bpfbox/verifier.hpp"
#include "verifier/env.hpp"

namespace bpfbox::verifier {

// bpf_loop call sites that always have the same callback and flags 0 become an inline counted
// loop calling the callback (bpf-to-bpf), with 3 stack slots added to the caller's frame
// (optimize_bpf_loop / inline_bpf_loop, loop_inline.cpp).
Status optimize_bpf_loop(Env& env);

// Privileged loads: conditional jumps with one side never taken become plain jumps or nops
// (opt_hard_wire_dead_code_branches), then instructions no path reached are removed
// (opt_remove_dead_code) and so are the `goto +0` nops (opt_remove_nops). Unprivileged loads
// keep their layout and get `goto -1` traps in place of dead code (sanitize_dead_code).
Status remove_dead_code(Env& env);

// Context loads and stores rewritten by the program type onto its internal context
// (convert_ctx_accesses), narrow loads widened to the field then shifted and masked.
Status convert_ctx_accesses(Env& env);

// Speculation barriers (BPF_ST | BPF_NOSPEC) before instructions a speculative path could not run
// safely (InsnAux::nospec) and after stack stores marked for Spectre v4 (nospec_result), as the
// kernel's convert_ctx_accesses inserts them (sanitize_fixups.cpp).
Status insert_speculation_barriers(Env& env);

// Unprivileged pointer arithmetic by a register masked to the limit the walk proved
// (InsnAux::alu_state/alu_limit), as do_misc_fixups' BPF_ALU_SANITIZE rewrite; uses r11 (AX).
Status sanitize_alu_fixups(Env& env);

// Map lddw turned into addresses, helper calls resolved into out.helpers, array lookups inlined
// (the parts of do_misc_fixups the engines need).
Status do_misc_fixups(Env& env, Program& out);

}  // namespace bpfbox::verifier
