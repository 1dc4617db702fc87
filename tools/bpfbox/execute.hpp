// Compiling and running a program the way `run` and `conformance-plugin` both do.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "bpfbox/vm.hpp"
#include "isa/insn.hpp"

namespace bpfbox::cli {

struct ExecuteOptions {
  vm::EngineKind engine = vm::EngineKind::Interp;
  bool checked = false;
  uint64_t budget = 0;  // instructions; 0: no limit
  bool blind_constants = false;
};

// "interp", "jit", "llvm", "tiered" or "default", as --engine takes them.
vm::EngineKind engine_from_name(const std::string& name);

// Runs `prog` with the core helpers, `mem` as a writable region r1 points to (0 when empty) and r2
// its length; returns r0. CommandError "WHAT: reason" when the engine refuses the program, and
// "fault: describe()" when the run faults.
uint64_t execute(std::span<const isa::Insn> prog, std::vector<uint8_t>& mem,
                 const ExecuteOptions& opts, const std::string& what);

}  // namespace bpfbox::cli
