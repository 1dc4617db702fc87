// The verifier's range facts (vm::InsnFacts::src/dst) turned into run-time checks: before each
// instruction with a fact, compare the operand with each bound an immediate can hold and fault
// (a store far outside every stack) when it is outside. A checked run of the result then fails
// exactly when a fact is wrong on that input, which the LLVM tier would have miscompiled.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include <linux/bpf.h>

#include "bpfbox/insn_facts.hpp"

namespace bpfbox::fuzz {

struct RangeChecked {
  std::vector<struct bpf_insn> insns;
  uint32_t checks = 0;  // bounds checked (each: a compare and a faulting store)
};

// `facts` has one record per instruction of `xlated`; jumps, calls and function addresses are
// re-targeted so a jump to an instruction lands on its checks.
RangeChecked with_range_checks(std::span<const struct bpf_insn> xlated,
                               std::span<const vm::InsnFacts> facts);

}  // namespace bpfbox::fuzz
