#include <cinttypes>
#include <cstdio>

#include "bpfbox/vm.hpp"

namespace bpfbox::vm {

bool RunContext::add_region(const void* base, uint64_t size, uint8_t access, const char* name) {
  if (n_regions >= kMaxRegions) return false;
  regions[n_regions++] = MemRegion{reinterpret_cast<uint64_t>(base), size, access, name};
  return true;
}

bool RunContext::check(uint64_t addr, uint64_t size, uint8_t access) const {
  if (addr - stack_base < stack_size && size <= stack_size - (addr - stack_base)) return true;
  for (uint32_t i = 0; i < n_regions; ++i) {
    const MemRegion& r = regions[i];
    if (addr - r.base < r.size && size <= r.size - (addr - r.base))
      return (r.access & access) == access;
  }
  return false;
}

std::string describe(const Fault& f, const RunContext* rc) {
  char buf[256];
  const char* op = "access";
  switch (f.kind) {
    case FaultKind::None:
      return "no fault";
    case FaultKind::OutOfBounds:
    case FaultKind::ReadOnly: {
      std::string where;
      if (rc) {
        where = " (regions: stack";
        for (uint32_t i = 0; i < rc->n_regions; ++i)
          where += std::string(", ") + rc->regions[i].name;
        where += ")";
      }
      std::snprintf(
          buf, sizeof buf, "pc %u: %s of %u bytes at 0x%" PRIx64 " %s%s", f.pc, op, f.size, f.addr,
          f.kind == FaultKind::ReadOnly ? "writes read-only memory" : "is outside every region",
          where.c_str());
      return buf;
    }
    case FaultKind::BadCall:
      std::snprintf(buf, sizeof buf, "pc %u: call to an invalid target %" PRIu64, f.pc, f.addr);
      return buf;
    case FaultKind::CallDepth:
      std::snprintf(buf, sizeof buf, "pc %u: the call stack is too deep (8 frames at most)", f.pc);
      return buf;
    case FaultKind::Budget:
      std::snprintf(buf, sizeof buf, "pc %u: instruction budget exhausted", f.pc);
      return buf;
    case FaultKind::Unsupported:
      std::snprintf(buf, sizeof buf, "pc %u: instruction not supported by this engine", f.pc);
      return buf;
  }
  return "unknown fault";
}

}  // namespace bpfbox::vm
