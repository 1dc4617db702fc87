// The facts the verifier exports to the engines (bpfbox/insn_facts.hpp): the memory region of
// each load, store and atomic and (Options::range_facts) the ranges of some scalar operands,
// joined over every path the walk explored, then carried to the xlated program.
#pragma once

#include <cstdint>
#include <vector>

#include <linux/bpf.h>

#include "bpfbox/insn_facts.hpp"
#include "verifier/env.hpp"

namespace bpfbox::verifier {

// The access at env.insn_idx goes through `base` (the register before the access): joined into
// the instruction's record (InsnAux::mem).
void note_mem_access(Env& env, const struct bpf_insn& insn, const RegState& base);

// Options::range_facts, before the instruction at env.insn_idx is checked (its history entry
// pushed): the ranges of the operands the engines use (the divisor of div/mod, the dividend of
// sdiv/smod, the amount of shifts by register, the operands of conditional jumps) joined into
// its record, each marked precise (mark_chain_precision) so that pruning keeps the join sound:
// a path pruned later had its value's sources inside the covering state's.
void note_operand_ranges(Env& env);

// One record per instruction of the rewritten program (env.insns), once the rewrite is done.
std::vector<vm::InsnFacts> export_insn_facts(const Env& env);

}  // namespace bpfbox::verifier
