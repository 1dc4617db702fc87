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

namespace {

const char* access_name(uint8_t access) {
  switch (access) {
    case kRead:
      return "load";
    case kWrite:
      return "store";
    case kReadWrite:
      return "atomic access";
    default:
      return "access";
  }
}

// The region holding addr, if any: "ctx", or "stack" for the run's stack.
const char* region_at(const RunContext& rc, uint64_t addr) {
  if (addr - rc.stack_base < rc.stack_size) return "stack";
  for (uint32_t i = 0; i < rc.n_regions; ++i)
    if (addr - rc.regions[i].base < rc.regions[i].size) return rc.regions[i].name;
  return nullptr;
}

}  // namespace

std::string describe(const Fault& f, const RunContext* rc) {
  char buf[256];
  switch (f.kind) {
    case FaultKind::None:
      return "no fault";
    case FaultKind::OutOfBounds: {
      // "pc 12: load of 4 bytes at 0x7ffd... is outside every region (stack, ctx)"
      std::string where;
      if (rc) {
        where = " (stack";
        for (uint32_t i = 0; i < rc->n_regions; ++i)
          where += std::string(", ") + rc->regions[i].name;
        where += ")";
        if (const char* r = region_at(*rc, f.addr))
          where += std::string(": it starts in ") + r + " and runs past its end";
      }
      std::snprintf(buf, sizeof buf,
                    "pc %u: %s of %u bytes at 0x%" PRIx64 " is outside every region%s", f.pc,
                    access_name(f.access), f.size, f.addr, where.c_str());
      return buf;
    }
    case FaultKind::ReadOnly: {
      const char* r = rc ? region_at(*rc, f.addr) : nullptr;
      std::snprintf(buf, sizeof buf,
                    "pc %u: %s of %u bytes at 0x%" PRIx64 " writes read-only memory%s%s", f.pc,
                    access_name(f.access), f.size, f.addr, r ? " in " : "", r ? r : "");
      return buf;
    }
    case FaultKind::BadCall:
      std::snprintf(buf, sizeof buf,
                    "pc %u: call to 0x%" PRIx64 ", which is neither a function nor a helper", f.pc,
                    f.addr);
      return buf;
    case FaultKind::CallDepth:
      std::snprintf(buf, sizeof buf, "pc %u: the call stack is too deep (8 frames at most)", f.pc);
      return buf;
    case FaultKind::Budget:
      if (rc)
        std::snprintf(buf, sizeof buf,
                      "pc %u: instruction budget exhausted after %" PRIu64 " instructions", f.pc,
                      rc->insns_executed);
      else
        std::snprintf(buf, sizeof buf, "pc %u: instruction budget exhausted", f.pc);
      return buf;
    case FaultKind::Unsupported:
      if (f.addr == BPF_FUNC_tail_call)
        std::snprintf(buf, sizeof buf, "pc %u: tail call inside a callback", f.pc);
      else
        std::snprintf(buf, sizeof buf, "pc %u: instruction not supported by this engine", f.pc);
      return buf;
  }
  return "unknown fault";
}

}  // namespace bpfbox::vm
