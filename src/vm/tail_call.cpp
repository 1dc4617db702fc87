// bpf_tail_call, shared by the engines: the count, the lookup at the time of the call, and which
// targets a run may continue in. Each engine only does the jump.
#include <cstddef>

#include "bpfbox/vm.hpp"

namespace bpfbox::vm {

void Executable::set_run_mode(const HelperTable& helpers, const ExecOptions& opts) {
  tail_call_lookup_ = helpers.tail_call_lookup();
  checked_ = opts.checked;
  budget_ = opts.insn_budget;
}

// offsetof on a class with virtual functions is conditionally supported; GCC and Clang give the
// plain layout offset, which is what generated code needs.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winvalid-offsetof"
Executable::TailCallFields Executable::tail_call_fields() {
  return {static_cast<int32_t>(offsetof(Executable, entry_)),
          static_cast<int32_t>(offsetof(Executable, checked_)),
          static_cast<int32_t>(offsetof(Executable, budget_))};
}
#pragma GCC diagnostic pop
static_assert(sizeof(bool) == 1 && sizeof(Executable::Entry) == 8);

TailCallTarget resolve_tail_call(RunContext* rc, const Executable* self, uint64_t map,
                                 uint64_t index) {
  // Only the calls that succeed count, as in the kernel (6.18 here: an empty slot or an index out
  // of range does not; tests/sys compares with the running kernel).
  if (rc->tail_call_cnt >= kMaxTailCallCnt || !self->tail_call_lookup_) return {};
  // The kernel reads the index as a u32.
  const Executable* target =
      self->tail_call_lookup_(reinterpret_cast<void*>(map), static_cast<uint32_t>(index));
  if (!target || !self->tail_call_compatible(*target)) return {};
  ++rc->tail_call_cnt;
  return {target, target->entry_};
}

}  // namespace bpfbox::vm
