#include "vm/llvm/runtime.hpp"

#include <cerrno>

namespace bpfbox::vm::llvm_tier::rt {

[[gnu::cold]] void fault(RunContext* rc, uint32_t kind, int32_t err, uint32_t pc, uint64_t addr) {
  rc->fault = Fault{static_cast<FaultKind>(kind), err, pc, addr, 0, 0};
}

[[gnu::cold]] bool check_access(RunContext* rc, uint64_t addr, uint32_t size, uint32_t access,
                                uint32_t pc) {
  if (rc->check(addr, size, static_cast<uint8_t>(access))) return true;
  // A store (or atomic) to memory that may be read is a write to read-only memory.
  const bool read_only = (access & kWrite) && rc->check(addr, size, kRead);
  rc->fault = Fault{read_only ? FaultKind::ReadOnly : FaultKind::OutOfBounds,
                    read_only ? EACCES : EFAULT,
                    pc,
                    addr,
                    size,
                    static_cast<uint8_t>(access)};
  return false;
}

bool tail_call(RunContext* rc, const Executable* self, uint64_t map, uint64_t index, uint64_t* r0) {
  const TailCallTarget t = resolve_tail_call(rc, self, map, index);
  if (!t.target) return false;
  *r0 = t.entry(t.target, rc, rc->tail_call_ctx, 0);
  return true;
}

}  // namespace bpfbox::vm::llvm_tier::rt
