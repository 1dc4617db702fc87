// bpf_tail_call, shared by the engines: the count, the lookup at the time of the call, and which
// targets a run may continue in. Each engine only does the jump.
#include "bpfbox/vm.hpp"

namespace bpfbox::vm {

void Executable::set_run_mode(const HelperTable& helpers, const ExecOptions& opts) {
  tail_call_lookup_ = helpers.tail_call_lookup();
  checked_ = opts.checked;
  budget_ = opts.insn_budget;
}

TailCallTarget resolve_tail_call(RunContext* rc, const Executable* self, uint64_t map,
                                 uint64_t index) {
  // Only the successful calls count: the lookup cannot tell an empty slot from an index out of
  // range (the kernel counts the first, not the second).
  if (rc->tail_call_cnt >= kMaxTailCallCnt || !self->tail_call_lookup_) return {};
  // The kernel reads the index as a u32.
  const Executable* target =
      self->tail_call_lookup_(reinterpret_cast<void*>(map), static_cast<uint32_t>(index));
  if (!target || !self->tail_call_compatible(*target)) return {};
  ++rc->tail_call_cnt;
  return {target, target->entry_};
}

}  // namespace bpfbox::vm
