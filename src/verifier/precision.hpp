// Precision tracking (the kernel's mark_chain_precision, backtrack_insn, propagate_precision):
// privileged programs start with imprecise scalars; a scalar becomes precise in the checkpoints
// of the current path where its value decides safety (a branch, a pointer offset, a helper size,
// a return value). Pruning compares only precise scalars by range.
#pragma once

#include <cstdint>

#include "verifier/env.hpp"

namespace bpfbox::verifier {

// Register regno of the current frame matters at the current instruction: marks the scalars it
// came from precise in the checkpoints of the current path. No-op for unprivileged loads (every
// scalar is precise from the start) and for non-scalars.
void mark_chain_precision(Env& env, int regno);
// The same for a spilled scalar in stack slot spi of frame frameno.
void mark_chain_precision_stack(Env& env, uint32_t frameno, int spi);

// The path history (HistEntry): the instruction about to be checked, the stack slot the current
// load/store uses (fixed offset), and the scalars sharing an id with the operands of the current
// conditional jump (before its branch is pushed, so both directions record it).
void push_insn_history(Env& env);
// `spill`: a register spill or fill (the kernel keeps only those in its jmp history).
void note_stack_access(Env& env, uint32_t frameno, int spi, bool spill);
void note_linked_regs(Env& env, const RegState& dst, const RegState* src);

// A state pruned against `old`: every scalar precise in old (among the live registers and stack
// slots of each frame, live_regs[fr] and live_slots[fr]) must be precise where cur came from.
// Returns how many marks were newly set.
uint32_t propagate_precision(Env& env, const VerifierState& old, VerifierState& cur,
                             const uint16_t* live_regs, const uint64_t* live_slots);

// The kernel's "big hammer": every scalar of every checkpoint above st precise.
void mark_all_scalars_precise(VerifierState& st);

// Scalars imprecise in both and differing are widened to unknown in cur (widen_imprecise_scalars:
// a loop's counter that no check depends on converges).
void widen_imprecise_scalars(Env& env, const VerifierState& old, VerifierState& cur);

}  // namespace bpfbox::verifier
