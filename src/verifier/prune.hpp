// State pruning (is_state_visited): a path whose state at a prune point is covered by a state
// already proven safe there stops; states at loop heads detect infinite loops.
#pragma once

#include <cstdint>

#include "bpfbox/status.hpp"
#include "verifier/env.hpp"

namespace bpfbox::verifier {

// 1: an equivalent (or more general) state was explored here: prune. 0: continue (the current
// state may have been recorded). An error (EINVAL "infinite loop detected at insn %d").
Result<int> is_state_visited(Env& env, uint32_t insn_idx);

// Marks the end of a path: states it passed through lose one pending branch (update_branch_counts).
void finish_path(Env& env);

// The checkpoint of an earlier iteration of the loop cur is in, at insn_idx (find_prev_entry).
VerifierState* find_prev_entry(Env& env, const VerifierState& cur, uint32_t insn_idx);

// Frees the per-verification pruning data.
void reset_pruning(Env& env);

}  // namespace bpfbox::verifier
