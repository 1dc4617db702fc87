// The front's structural passes: the program's size (bpf_prog_load's E2BIG) and its subprograms
// (add_subprog_and_kfunc and check_subprogs: boundaries from calls and BPF_PSEUDO_FUNC loads,
// every jump inside its subprogram, no fall-through from one subprogram into the next).
#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "verifier/passes.hpp"

namespace bpfbox::verifier {

namespace {

constexpr uint32_t kMaxSubprogs = 256;  // BPF_MAX_SUBPROGS

bool is_pseudo_call(const struct bpf_insn& in) {
  return in.code == (BPF_JMP | BPF_CALL) && in.src_reg == BPF_PSEUDO_CALL;
}
bool is_pseudo_func(const struct bpf_insn& in) {
  return in.code == (BPF_LD | BPF_IMM | BPF_DW) && in.src_reg == BPF_PSEUDO_FUNC;
}
bool is_kfunc_call(const struct bpf_insn& in) {
  return in.code == (BPF_JMP | BPF_CALL) && in.src_reg == BPF_PSEUDO_KFUNC_CALL;
}

Status add_subprog(Env& env, int64_t start) {
  if (start < 0 || start >= static_cast<int64_t>(env.insns.size())) {
    env.verbose("call to invalid destination\n");
    explain(env, Rule::JumpOutOfRange);
    return Status(EINVAL, "call to invalid destination");
  }
  const auto it = std::lower_bound(env.subprogs.begin(), env.subprogs.end(), uint32_t(start),
                                   [](const SubprogInfo& s, uint32_t v) { return s.start < v; });
  if (it != env.subprogs.end() && it->start == start) return Status::ok();
  if (env.subprogs.size() >= kMaxSubprogs) {
    env.verbose("too many subprograms\n");
    explain(env, Rule::ProgramSize);
    return Status(E2BIG, "too many subprograms");
  }
  SubprogInfo info;
  info.start = static_cast<uint32_t>(start);
  env.subprogs.insert(it, info);
  return Status::ok();
}

}  // namespace

Status check_program(Env& env) {
  // bpf_prog_load(): an empty program, or more instructions than the loader may load, is E2BIG
  // before the verifier runs (so without a log line).
  const size_t n = env.insns.size();
  const uint32_t limit = env.privileged() ? kMaxProgInsnsPrivileged : kMaxProgInsnsUnprivileged;
  if (n == 0 || n > limit) {
    char msg[128];
    std::snprintf(msg, sizeof msg, "program of %zu instructions: the limit is 1..%u", n, limit);
    explain(env, Rule::ProgramSize).at(0);
    env.diag.message = msg;
    return Status(E2BIG, msg);
  }
  return Status::ok();
}

Status check_subprogs(Env& env) {
  const std::vector<struct bpf_insn>& insns = env.insns;
  const uint32_t n = static_cast<uint32_t>(insns.size());
  // add_subprog_and_kfunc(): the entry, every bpf-to-bpf call target and callback.
  env.subprogs.clear();
  if (Status st = add_subprog(env, 0); !st) return st;
  for (uint32_t i = 0; i < n; ++i) {
    const struct bpf_insn& in = insns[i];
    if (!is_pseudo_func(in) && !is_pseudo_call(in) && !is_kfunc_call(in)) continue;
    if (!env.privileged()) {
      env.verbose(
          "loading/calling other bpf or kernel functions are allowed for CAP_BPF and "
          "CAP_SYS_ADMIN\n");
      explain(env, Rule::Privilege).at(i);
      return Status(EPERM, "bpf-to-bpf calls need CAP_BPF");
    }
    if (is_kfunc_call(in)) {
      // bpfbox has no kernel BTF, so no id names a kernel function (add_kfunc_call's message).
      env.verbose("kernel btf_id %d is not a function\n", in.imm);
      explain(env, Rule::UnknownHelper).at(i).hint("bpfbox has no kfuncs: call a helper instead");
      return Status(EINVAL, "kfunc calls are not supported");
    }
    if (Status st = add_subprog(env, int64_t(i) + in.imm + 1); !st) {
      explain(env, Rule::JumpOutOfRange).at(i);
      return st;
    }
  }
  if (env.log.level2()) {
    for (size_t s = 0; s < env.subprogs.size(); ++s)
      env.verbose("func#%zu @%u\n", s, env.subprogs[s].start);
  }

  // check_subprogs(): jumps stay inside their subprogram; each subprogram ends with an exit or
  // an unconditional jump.
  size_t cur = 0;
  uint32_t sub_start = env.subprogs[0].start;
  uint32_t sub_end = env.subprogs.size() > 1 ? env.subprogs[1].start : n;
  for (uint32_t i = 0; i < n; ++i) {
    const struct bpf_insn& in = insns[i];
    const uint8_t code = in.code, cls = BPF_CLASS(code);
    if (code == (BPF_JMP | BPF_CALL) && in.src_reg == 0 && in.imm == BPF_FUNC_tail_call) {
      env.subprogs[cur].has_tail_call = true;
      env.subprogs[cur].tail_call_reachable = true;
    }
    if (cls == BPF_LD && (BPF_MODE(code) == BPF_ABS || BPF_MODE(code) == BPF_IND))
      env.subprogs[cur].has_ld_abs = true;
    if ((cls == BPF_JMP || cls == BPF_JMP32) && BPF_OP(code) != BPF_EXIT &&
        BPF_OP(code) != BPF_CALL) {
      const int64_t target =
          int64_t(i) + 1 + (code == (BPF_JMP32 | BPF_JA) ? int64_t(in.imm) : int64_t(in.off));
      if (target < sub_start || target >= sub_end) {
        env.verbose("jump out of range from insn %u to %lld\n", i, static_cast<long long>(target));
        explain(env, Rule::JumpOutOfRange).at(i);
        return Status(EINVAL, "jump out of range");
      }
    }
    if (i == sub_end - 1) {
      if (code != (BPF_JMP | BPF_EXIT) && code != (BPF_JMP32 | BPF_JA) &&
          code != (BPF_JMP | BPF_JA)) {
        env.verbose("last insn is not an exit or jmp\n");
        explain(env, Rule::FallOffEnd).at(i);
        return Status(EINVAL, "last insn is not an exit or jmp");
      }
      sub_start = sub_end;
      ++cur;
      if (cur < env.subprogs.size())
        sub_end = cur + 1 < env.subprogs.size() ? env.subprogs[cur + 1].start : n;
    }
  }
  return Status::ok();
}

}  // namespace bpfbox::verifier
