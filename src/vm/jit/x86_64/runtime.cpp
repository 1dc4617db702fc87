#include "vm/jit/x86_64/runtime.hpp"

#include <cerrno>

namespace bpfbox::vm::jit::x86_64::rt {

uint64_t check_access(RunContext* rc, uint64_t addr, uint64_t packed) {
  const uint8_t size = packed & 0xf;
  const uint8_t access = (packed >> 4) & 3;
  if (rc->check(addr, size, access)) return 1;
  // As the interpreter: a write to memory that may be read is a write to read-only memory.
  const bool read_only = (access & kWrite) && rc->check(addr, size, kRead);
  rc->fault = Fault{read_only ? FaultKind::ReadOnly : FaultKind::OutOfBounds,
                    read_only ? EACCES : EFAULT,
                    static_cast<uint32_t>(packed >> 8),
                    addr,
                    size,
                    access};
  return 0;
}

void call_fault(RunContext* rc, uint64_t kind, uint64_t pc, uint64_t addr) {
  const FaultKind k = static_cast<FaultKind>(kind);
  const int err = k == FaultKind::CallDepth     ? E2BIG
                  : k == FaultKind::Unsupported ? EOPNOTSUPP
                                                : EINVAL;
  rc->fault = Fault{k, err, static_cast<uint32_t>(pc), addr, 0, 0};
}

void budget_fault(RunContext* rc, uint64_t seg_pc, uint64_t seg_len, const uint8_t* slots,
                  uint64_t budget) {
  // The segment was charged in full; the instructions before it used `before`.
  const uint64_t before = rc->insns_executed - seg_len;
  uint64_t pc = seg_pc;
  for (uint64_t i = before; i < budget; ++i) pc += slots[pc];
  rc->fault = Fault{FaultKind::Budget, E2BIG, static_cast<uint32_t>(pc), 0, 0, 0};
  rc->insns_executed = budget;
}

}  // namespace bpfbox::vm::jit::x86_64::rt
