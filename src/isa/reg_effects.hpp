// The registers an instruction reads and writes, as bit masks over r0..r10 (bit N = rN).
// Calls read r1..r5 and write r0..r5 (the caller-saved registers are clobbered).
#pragma once

#include <cstdint>

#include "isa/decoder.hpp"

namespace bpfbox::isa {

void reg_effects(const Decoded& d, uint16_t& reads, uint16_t& writes);
void reg_effects(const Decoded& d, const OpInfo& o, uint16_t& reads, uint16_t& writes);

}  // namespace bpfbox::isa
