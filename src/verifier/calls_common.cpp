#include "verifier/calls_common.hpp"

#include <algorithm>
#include <cstdio>

#include "isa/disasm.hpp"
#include "verifier/regs.hpp"

namespace bpfbox::verifier::calls {

bool register_is_null(const RegState& reg) {
  return reg.type == SCALAR_VALUE && reg.s.is_const() && reg.s.const_value() == 0;
}

const char* func_id_name(int32_t id) {
  return isa::kernel_helper_name(id);
}

int find_subprog(const Env& env, uint32_t insn) {
  for (size_t i = 0; i < env.subprogs.size(); ++i)
    if (env.subprogs[i].start == insn) return static_cast<int>(i);
  return -1;
}

uint32_t subprog_of(const Env& env, uint32_t insn) {
  uint32_t found = 0;
  for (size_t i = 0; i < env.subprogs.size(); ++i)
    if (env.subprogs[i].start <= insn) found = static_cast<uint32_t>(i);
  return found;
}

bool retval_in_range(const RegState& reg, int64_t min, int64_t max) {
  return min <= reg.s.smin && reg.s.smax <= max;
}

void verbose_invalid_scalar(Env& env, const RegState& reg, int64_t min, int64_t max,
                            const char* ctx, const char* reg_name) {
  bool unknown = true;
  env.verbose("%s the register %s has", ctx, reg_name);
  if (reg.s.smin > INT64_MIN) {
    env.verbose(" smin=%lld", static_cast<long long>(reg.s.smin));
    unknown = false;
  }
  if (reg.s.smax < INT64_MAX) {
    env.verbose(" smax=%lld", static_cast<long long>(reg.s.smax));
    unknown = false;
  }
  if (unknown) env.verbose(" unknown scalar value");
  env.verbose(" should have been in [%d, %d]\n", static_cast<int>(min), static_cast<int>(max));
}

Status refuse(Env& env, int err) {
  return Status(err, env.refusal.last_line);
}

// clear_all_pkt_pointers(): after a helper that may move the packet, no packet pointer is valid.
void clear_all_pkt_pointers(Env& env) {
  VerifierState& st = *env.cur_state;
  auto clear = [&](RegState& r) {
    if (r.is_pkt_pointer() || r.base() == PTR_TO_PACKET_END) mark_reg_unknown(env, r);
  };
  for (uint32_t i = 0; i <= st.curframe; ++i) {
    FuncState& fr = *st.frame[i];
    for (RegState& r : fr.regs) clear(r);
    for (StackSlot& slot : fr.stack) {
      if (slot.spilled_ptr.type == NOT_INIT) continue;
      const RegState& sp = slot.spilled_ptr;
      if (!(sp.is_pkt_pointer() || sp.base() == PTR_TO_PACKET_END)) continue;
      // A spilled packet pointer becomes unknown bytes.
      clear(slot.spilled_ptr);
      for (uint8_t& t : slot.slot_type)
        if (t == STACK_SPILL) t = STACK_MISC;
    }
  }
}

}  // namespace bpfbox::verifier::calls
