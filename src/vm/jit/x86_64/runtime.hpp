// The out-of-line routines generated code calls on its cold paths: the checked-mode region check
// and the recording of faults, with the interpreter's fault fields (kind, errno, pc, addr, size).
#pragma once

#include <cstdint>

#include "bpfbox/vm.hpp"

namespace bpfbox::vm::jit::x86_64::rt {

// A checked access packed into one immediate: pc << 8 | access << 4 | size.
constexpr uint32_t pack_access(uint32_t pc, uint8_t size, uint8_t access) {
  return pc << 8 | static_cast<uint32_t>(access) << 4 | size;
}

// 1 when [addr, addr+size) is inside a region allowing the access; else records the memory fault
// and returns 0.
uint64_t check_access(RunContext* rc, uint64_t addr, uint64_t packed);

// BadCall (addr: the callx value), CallDepth (addr: the callee's pc) and Unsupported (addr 12: a
// tail call inside a callback).
void call_fault(RunContext* rc, uint64_t kind, uint64_t pc, uint64_t addr);

// The budget ran out in the segment starting at seg_pc: fault at the instruction it ran out on.
// `slots` gives each pc's slot count (2 for lddw).
void budget_fault(RunContext* rc, uint64_t seg_pc, uint64_t seg_len, const uint8_t* slots,
                  uint64_t budget);

}  // namespace bpfbox::vm::jit::x86_64::rt
