// The cold paths generated code calls (by address, resolved when the module is built): recording
// a fault with the interpreter's rules, and the checked mode's region check.
#pragma once

#include <cstdint>

#include "bpfbox/vm.hpp"

namespace bpfbox::vm::llvm_tier::rt {

// rc->fault = {kind, err, pc, addr}.
void fault(RunContext* rc, uint32_t kind, int32_t err, uint32_t pc, uint64_t addr);

// Checked mode, after the inline stack test failed: true when a region allows the access, else
// records OutOfBounds/EFAULT or ReadOnly/EACCES as the interpreter does and returns false.
bool check_access(RunContext* rc, uint64_t addr, uint32_t size, uint32_t access, uint32_t pc);

// bpf_tail_call from `self` with r2 = map, r3 = index: when the lookup finds a compatible target,
// runs it (with the run's ctx, the counters running) to its end, stores its r0 and returns true;
// else returns false (the program falls through).
bool tail_call(RunContext* rc, const Executable* self, uint64_t map, uint64_t index, uint64_t* r0);

}  // namespace bpfbox::vm::llvm_tier::rt
