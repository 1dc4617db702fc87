// The program of a conformance case, as the public runner builds it: the raw words when the file
// has them, else its assembly (the suite's syntax) assembled.
#pragma once

#include <vector>

#include "bpfbox/status.hpp"
#include "data_file.hpp"
#include "isa/insn.hpp"

namespace bpfbox::conformance {

Result<std::vector<isa::Insn>> case_program(const DataFile& file);

// The assembly alone (EINVAL when the file has none).
Result<std::vector<isa::Insn>> assemble_case(const DataFile& file);

}  // namespace bpfbox::conformance
