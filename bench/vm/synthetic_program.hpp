// Programs of any length for compile-time benchmarks: a packet-parser-like block (loads, pointer
// arithmetic, bounds checks jumping forward near and far, stack stores, a helper call, byte
// swaps) repeated until the program has the length asked for. Never run, only compiled.
#pragma once

#include <cstddef>
#include <vector>

#include "isa/decoder.hpp"

namespace bpfbox::bench {

// `n` instructions (at least 16): the last is `exit`, every jump lands inside the program, helper
// id 7 is called.
std::vector<isa::Insn> synthetic_program(size_t n);

}  // namespace bpfbox::bench
