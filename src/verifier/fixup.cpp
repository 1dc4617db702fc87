// fixup(): the verified program rewritten into the xlated form both engines run, in the order of
// the kernel's bpf_check() after do_check: bpf_loop inlined, dead code, context accesses, then
// maps and helpers;
// the Program gathers the result with the subprograms' stack depths, the maps it holds and, per
// instruction, the original instruction it came from and what the walk proved (insn_facts.hpp).
#include "verifier/insn_facts.hpp"
#include "verifier/passes.hpp"
#include "verifier/rewrite.hpp"

namespace bpfbox::verifier {

Status fixup(Env& env, Program& out) {
  if (Status st = optimize_bpf_loop(env); !st) return st;
  if (Status st = remove_dead_code(env); !st) return st;
  if (Status st = insert_speculation_barriers(env); !st) return st;
  if (Status st = convert_ctx_accesses(env); !st) return st;
  if (Status st = sanitize_alu_fixups(env); !st) return st;
  if (Status st = do_misc_fixups(env, out); !st) return st;

  out.xlated = env.insns;
  out.subprogs.clear();
  for (const SubprogInfo& s : env.subprogs)
    out.subprogs.push_back({s.start, (s.stack_depth + 7) & ~7u});
  out.maps = env.used_maps;
  out.orig_index.resize(env.aux.size());
  for (size_t i = 0; i < env.aux.size(); ++i) out.orig_index[i] = env.aux[i].orig_idx;
  out.facts = export_insn_facts(env);
  out.verified_insns = env.insn_processed;
  return Status::ok();
}

}  // namespace bpfbox::verifier
