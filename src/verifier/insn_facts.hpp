// The facts the verifier exports to the engines (bpfbox/insn_facts.hpp): the memory region of
// each load, store and atomic, joined over every path the walk explored, then carried to the
// xlated program.
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

// One record per instruction of the rewritten program (env.insns), once the rewrite is done.
std::vector<vm::InsnFacts> export_insn_facts(const Env& env);

}  // namespace bpfbox::verifier
