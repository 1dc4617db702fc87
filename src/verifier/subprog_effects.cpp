// mark_subprogs_changes_pkt_data(): the kernel's per-subprogram changes_pkt_data summary. A global
// function is verified on its own, so its callers cannot see the helpers it calls; they learn
// from this summary whether their packet pointers survive the call.
#include "bpfbox/prog_type.hpp"
#include "verifier/calls_common.hpp"
#include "verifier/passes.hpp"

namespace bpfbox::verifier {

void mark_subprogs_changes_pkt_data(Env& env) {
  const auto& insns = env.insns;
  for (uint32_t i = 0; i < insns.size(); ++i) {
    const struct bpf_insn& in = insns[i];
    if (in.code != (BPF_JMP | BPF_CALL) || in.src_reg != 0 || !env.ops || !env.ops->get_func_proto)
      continue;
    const HelperProto* fn = env.ops->get_func_proto(static_cast<uint32_t>(in.imm), env.opts.load);
    if (fn && fn->changes_pkt_data) env.subprogs[calls::subprog_of(env, i)].changes_pkt_data = true;
  }
  // A caller inherits its callees' effect (merge_callee_effects); iterate to a fixed point, the
  // call graph being small and possibly recursive until check_cfg refuses it.
  for (bool changed = true; changed;) {
    changed = false;
    for (uint32_t i = 0; i < insns.size(); ++i) {
      const struct bpf_insn& in = insns[i];
      if (in.code != (BPF_JMP | BPF_CALL) || in.src_reg != BPF_PSEUDO_CALL) continue;
      const int callee = calls::find_subprog(env, i + 1 + uint32_t(in.imm));
      if (callee < 0 || !env.subprogs[uint32_t(callee)].changes_pkt_data) continue;
      SubprogInfo& caller = env.subprogs[calls::subprog_of(env, i)];
      if (!caller.changes_pkt_data) changed = caller.changes_pkt_data = true;
    }
  }
}

}  // namespace bpfbox::verifier
