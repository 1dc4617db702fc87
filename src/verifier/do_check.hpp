// The core's walk over paths (do_check.cpp): the stack of branches still to explore and the
// per-instruction dispatch. The calls pass uses push_stack for callbacks it explores as branches.
#pragma once

#include <cstdint>

#include "bpfbox/status.hpp"
#include "verifier/env.hpp"

namespace bpfbox::verifier {

// push_stack(): a copy of the current state continues at insn_idx later. nullptr (with E2BIG and
// "The sequence of %d jumps is too complex." logged) past 8192 pending branches.
VerifierState* push_stack(Env& env, uint32_t insn_idx, uint32_t prev_insn_idx, bool speculative);

// The number of branches still pending (the kernel's BPF_COMPLEXITY_LIMIT_JMP_SEQ applies to it).
constexpr uint32_t kMaxPendingBranches = 8192;

}  // namespace bpfbox::verifier
