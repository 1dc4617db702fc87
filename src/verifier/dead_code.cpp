#include <cstring>

#include "isa/uapi.hpp"
#include "verifier/patch.hpp"
#include "verifier/rewrite.hpp"

namespace bpfbox::verifier {

namespace {

bool is_lddw(const struct bpf_insn& insn) {
  return insn.code == (BPF_LD | BPF_IMM | BPF_DW);
}

// insn_is_cond_jump()
bool is_cond_jump(uint8_t code) {
  const uint8_t op = BPF_OP(code);
  if (BPF_CLASS(code) == BPF_JMP32) return op != BPF_JA;
  if (BPF_CLASS(code) != BPF_JMP) return false;
  return op != BPF_JA && op != BPF_EXIT && op != BPF_CALL;
}

bool is_nop(const struct bpf_insn& insn) {
  return insn.code == (BPF_JMP | BPF_JA) && insn.dst_reg == 0 && insn.src_reg == 0 &&
         insn.off == 0 && insn.imm == 0;
}
bool is_may_goto_0(const struct bpf_insn& insn) {
  return insn.code == (BPF_JMP | BPF_JCOND) && insn.dst_reg == 0 && insn.src_reg == 0 &&
         insn.off == 0 && insn.imm == 0;
}

// The second slot of a reached lddw counts as reached (the walk marks only the first).
void mark_lddw_second_slots(Env& env) {
  for (size_t i = 0; i + 1 < env.insns.size(); ++i)
    if (is_lddw(env.insns[i])) {
      if (env.aux[i].seen) env.aux[i + 1].seen = true;
      ++i;
    }
}

void hard_wire_dead_code_branches(Env& env) {
  const size_t n = env.insns.size();
  for (size_t i = 0; i < n; ++i) {
    struct bpf_insn& insn = env.insns[i];
    if (is_lddw(insn)) {
      ++i;
      continue;
    }
    if (!is_cond_jump(insn.code) || !env.aux[i].seen) continue;
    const int64_t target = static_cast<int64_t>(i) + 1 + insn.off;
    struct bpf_insn ja {};
    ja.code = BPF_JMP | BPF_JA;
    if (i + 1 < n && !env.aux[i + 1].seen)
      ja.off = insn.off;  // never falls through: always jumps
    else if (target >= 0 && static_cast<size_t>(target) < n && !env.aux[target].seen)
      ja.off = 0;  // never jumps: a nop, removed below
    else
      continue;
    insn = ja;
  }
}

// A subprogram whose address a reached instruction still holds (a BPF_PSEUDO_FUNC lddw, the
// call of an inlined bpf_loop) but that no path entered: bpf_loop with a count of 0 never runs
// its callback, so the kernel does not explore it (the "iteration limit" is reached at once) and
// removes it, leaving the reference dangling. Here its body becomes `r0 = 0; exit`, never run, so
// that every reference the engines see still names a subprogram and no unverified code remains.
Status stub_unexplored_callees(Env& env) {
  static constexpr struct bpf_insn kStub[] = {
      {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  for (size_t s = 1; s < env.subprogs.size(); ++s) {
    const uint32_t start = env.subprogs[s].start;
    if (env.aux[start].seen) continue;
    bool referenced = false;
    for (size_t i = 0; i < env.insns.size() && !referenced; ++i) {
      const struct bpf_insn& insn = env.insns[i];
      const bool pseudo_func = is_lddw(insn) && insn.src_reg == BPF_PSEUDO_FUNC;
      const bool pseudo_call = insn.code == (BPF_JMP | BPF_CALL) && insn.src_reg == BPF_PSEUDO_CALL;
      referenced = (pseudo_func || pseudo_call) && env.aux[i].seen &&
                   static_cast<int64_t>(i) + insn.imm + 1 == start;
      if (is_lddw(insn)) ++i;
    }
    if (!referenced) continue;
    const uint32_t end = s + 1 < env.subprogs.size() ? env.subprogs[s + 1].start
                                                     : static_cast<uint32_t>(env.insns.size());
    if (Status st = replace_insns(env, start, end - start, kStub); !st) return st;
    env.aux[start].seen = env.aux[start + 1].seen = true;
  }
  return Status::ok();
}

}  // namespace

Status remove_dead_code(Env& env) {
  mark_lddw_second_slots(env);
  if (Status st = stub_unexplored_callees(env); !st) return st;
  if (!env.privileged()) {
    // sanitize_dead_code(): keep the layout, trap anything no path reaches.
    for (size_t i = 0; i < env.insns.size(); ++i) {
      if (env.aux[i].seen) continue;
      struct bpf_insn trap {};
      trap.code = BPF_JMP | BPF_JA;
      trap.off = -1;
      env.insns[i] = trap;
    }
    return Status::ok();
  }
  hard_wire_dead_code_branches(env);
  for (uint32_t i = 0; i < env.insns.size(); ++i) {
    uint32_t j = 0;
    while (i + j < env.insns.size() && !env.aux[i + j].seen) ++j;
    if (!j) continue;
    if (Status st = remove_insns(env, i, j); !st) return st;
  }
  for (int64_t i = 0; i < static_cast<int64_t>(env.insns.size()); ++i) {
    const bool may_goto_0 = is_may_goto_0(env.insns[i]);
    if (!may_goto_0 && !is_nop(env.insns[i])) continue;
    if (Status st = remove_insns(env, static_cast<uint32_t>(i), 1); !st) return st;
    // Step back to catch `may_goto +1; may_goto +0`.
    i -= (may_goto_0 && i > 0) ? 2 : 1;
  }
  return Status::ok();
}

}  // namespace bpfbox::verifier
