// Random XDP programs biased towards what the verifier must get right: packet accesses behind
// (sometimes wrong) comparisons with data_end, variable packet offsets with (sometimes missing)
// masks, stack accesses near the frame's limits, bounded loops and scalar arithmetic. Written as
// assembly text, so a failure prints as a readable program.
#pragma once

#include <cstdint>
#include <string>

namespace bpfbox::fuzz {

// The same seed gives the same program.
std::string biased_xdp_program(uint64_t seed);

}  // namespace bpfbox::fuzz
