// Automatic tier-up: an executable that runs on the baseline engine (the JIT, else the
// interpreter) until it has run often, then compiles itself with the LLVM tier on a background
// thread and swaps the optimized code in atomically. Results do not change at the swap: both
// tiers have the interpreter's semantics in the same mode.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "bpfbox/vm.hpp"

namespace bpfbox::vm::llvm_tier {

struct TierUp {
  uint64_t after_runs = 1000;  // runs on the baseline before the LLVM compile starts
  int opt_level = 2;
};

// What a tiered executable can tell about itself (tests, benchmarks, `prog show` later).
struct TierState {
  bool optimized = false;  // runs now enter the LLVM tier's code
  bool gave_up = false;    // the LLVM tier refused the program: it stays on the baseline
  uint64_t baseline_runs = 0;
};

// EINVAL and friends as the baseline engine returns them; the LLVM tier's own refusals (tail
// calls, blinding) only keep the program on the baseline.
Result<std::unique_ptr<Executable>> compile_tiered(std::span<const struct bpf_insn> prog,
                                                   const HelperTable& helpers,
                                                   const ExecOptions& opts,
                                                   const TierUp& tier_up = {});

// For an executable from compile_tiered (else a default TierState). `wait` first waits for a
// background compile in progress.
TierState tier_state(const Executable& exe, bool wait = false);

}  // namespace bpfbox::vm::llvm_tier
