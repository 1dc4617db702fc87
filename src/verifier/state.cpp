// The abstract state's own operations: copying a path's state when a branch forks.
#include "verifier/state.hpp"

namespace bpfbox::verifier {

std::unique_ptr<VerifierState> VerifierState::clone() const {
  auto st = std::make_unique<VerifierState>();
  for (uint32_t i = 0; i <= curframe && i < frame.size(); ++i)
    if (frame[i]) st->frame[i] = std::make_unique<FuncState>(*frame[i]);
  st->curframe = curframe;
  st->refs = refs;
  st->active_lock_id = active_lock_id;
  st->active_lock_ptr = active_lock_ptr;
  st->speculative = speculative;
  st->insn_idx = insn_idx;
  st->may_goto_depth = may_goto_depth;
  st->callback_unroll_depth = callback_unroll_depth;
  st->parent = parent;
  st->branches = 0;
  st->history = history;
  st->jmp_history_cnt = jmp_history_cnt;
  st->first_insn_idx = first_insn_idx;
  st->last_insn_idx = last_insn_idx;
  st->dfs_depth = dfs_depth;
  st->loop_entries = loop_entries;
  return st;
}

}  // namespace bpfbox::verifier
