// The benchmark programs (src/*.bpf.c): each with its input packet and map contents.
#pragma once

#include <vector>

#include "harness.hpp"

namespace bpfbox::progbench {

// Every program, `empty` (the fixed cost of a run) first.
const std::vector<ProgSpec>& programs();

}  // namespace bpfbox::progbench
