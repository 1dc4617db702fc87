// Static stack-slot liveness for pruning (stack_liveness.cpp).
#pragma once

#include "verifier/env.hpp"

namespace bpfbox::verifier {

// Fills env.live_slots_before: per instruction, bit spi set when slot spi of its subprogram's
// frame may be read later (all bits when the analysis cannot tell).
void compute_live_stack(Env& env);

}  // namespace bpfbox::verifier
