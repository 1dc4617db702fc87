// Conditional jumps (check_cond_jmp_op): dead directions pruned, both outcomes refined, equal
// scalars and null checks propagated by id, packet ranges learnt from data_end comparisons.
#pragma once

#include <cstdint>

#include <linux/bpf.h>

#include "bpfbox/status.hpp"
#include "verifier/env.hpp"

namespace bpfbox::verifier {

// On return *insn_idx is the last instruction of the direction the current state continues on
// (the caller steps past it); the other direction, if feasible, was pushed.
Status check_cond_jmp_op(Env& env, const struct bpf_insn& insn, uint32_t* insn_idx);

// may_goto (BPF_JMP|BPF_JCOND): the current path leaves the loop (takes the jump); the loop body
// is pushed with one more may_goto level, which pruning bounds.
Status check_may_goto(Env& env, const struct bpf_insn& insn, uint32_t* insn_idx);

}  // namespace bpfbox::verifier
