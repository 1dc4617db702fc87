// verify(): the kernel's bpf_prog_load() checks that come before the verifier (flags, size,
// privilege for the program type), then bpf_check(): the log, the passes in the kernel's order,
// the statistics line, the log's finalisation (whose ENOSPC wins over the verdict, as in the
// kernel) and the result: the xlated program, or the errno with its structured diagnostic.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "isa/decoder.hpp"
#include "verifier/diagnostic.hpp"
#include "verifier/env.hpp"
#include "verifier/passes.hpp"

namespace bpfbox::verifier {

namespace {

// prog_flags bpf_prog_load() accepts (numeric: older UAPI headers lack the newest names):
// STRICT_ALIGNMENT, ANY_ALIGNMENT, TEST_RND_HI32, TEST_STATE_FREQ, SLEEPABLE, XDP_HAS_FRAGS,
// XDP_DEV_BOUND_ONLY (1 << 6), TEST_REG_INVARIANTS (1 << 7). BPF_F_TOKEN_FD is refused: bpfbox has
// no BPF tokens.
constexpr uint32_t kKnownProgFlags = 0xff;

// The range-facts walk may process this many times the ordinary walk's instructions, plus the
// slack (small programs whose loops need a few more iterations with precise counters).
constexpr uint32_t kRangeFactsBudgetFactor = 4;
constexpr uint32_t kRangeFactsBudgetSlack = 20000;

VerifyResult refuse_early(Status st, Rule rule, const char* message) {
  VerifyResult r;
  r.status = std::move(st);
  Diagnostic d;
  d.rule = rule_name(rule);
  d.message = message;
  r.diagnostic = std::move(d);
  return r;
}

// The instructions the core accepted still decode (a net under do_check: the kernel checks
// reserved fields as it reaches each instruction; an instruction the core let through malformed
// is refused here rather than run).
Status check_decodes(Env& env) {
  std::span<const struct bpf_insn> prog(env.insns);
  for (size_t pc = 0; pc < prog.size(); ++pc) {
    isa::Decoded d;
    if (Status st = isa::decode(prog, pc, d); !st) {
      env.verbose("%s\n", st.message().c_str());
      explain(env, Rule::BadInsn).at(static_cast<uint32_t>(pc));
      return st;
    }
    if (d.slots == 2) ++pc;
  }
  return Status::ok();
}

void print_stats(Env& env, std::chrono::steady_clock::duration elapsed) {
  if (env.log.stats()) {
    const long long usec = std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count();
    env.verbose("verification time %lld usec\n", usec);
    env.verbose("stack depth ");
    for (size_t i = 0; i < env.subprogs.size(); ++i)
      env.verbose("%u%s", env.subprogs[i].stack_depth, i + 1 < env.subprogs.size() ? "+" : "");
    env.verbose("\n");
  }
  env.verbose(
      "processed %u insns (limit %u) max_states_per_insn %u total_states %u peak_states %u "
      "mark_read %u\n",
      env.insn_processed, kMaxInsns, env.max_states_per_insn, env.total_states, env.peak_states,
      env.mark_read);
}

Status run_passes(Env& env, Program& out) {
  if (Status st = check_btf_info_early(env); !st) return st;
  if (Status st = check_subprogs(env); !st) return st;
  mark_subprogs_changes_pkt_data(env);
  if (Status st = check_btf_info(env); !st) return st;
  if (Status st = resolve_pseudo_ldimm64(env); !st) return st;
  if (Status st = check_cfg(env); !st) return st;
  const uint64_t before = env.log.pos();
  if (Status st = do_check(env); !st) return st;
  if (Status st = do_check_subprogs(env); !st) return st;
  // A successful level-1 verification keeps only the statistics (the kernel resets the log).
  if (env.log.level1() && !env.log.level2()) env.log.reset(before);
  if (Status st = check_decodes(env); !st) return st;
  if (Status st = check_max_stack_depth(env); !st) return st;
  out.subprogs.clear();
  for (const SubprogInfo& s : env.subprogs) out.subprogs.push_back({s.start, s.stack_depth});
  out.maps = env.used_maps;
  out.verified_insns = env.insn_processed;
  return fixup(env, out);
}

VerifyResult verify_once(std::span<const struct bpf_insn> insns, const Options& opts,
                         uint32_t insn_limit = kMaxInsns) {
  const auto start = std::chrono::steady_clock::now();
  const ProgLoadContext& load = opts.load;
  // bpf_prog_load(), in its order.
  if (load.prog_flags & ~kKnownProgFlags)
    return refuse_early(Status(EINVAL, "unknown prog_flags"), Rule::BadOptions,
                        "unknown prog_flags");
  Env env(opts);
  env.insn_limit = insn_limit;
  env.insns.assign(insns.begin(), insns.end());
  if (Status st = check_program(env); !st) {
    VerifyResult r;
    r.status = st;
    finish_diagnostic(env, st.err());
    r.diagnostic = env.diag;
    return r;
  }
  if (!load.privileged && load.prog_type != BPF_PROG_TYPE_SOCKET_FILTER &&
      load.prog_type != BPF_PROG_TYPE_CGROUP_SKB)
    return refuse_early(Status(EPERM, "program type needs CAP_BPF"), Rule::Privilege,
                        "unprivileged loads may only load socket_filter and cgroup_skb programs");
  env.ops = opts.type ? opts.type : prog_type_ops(load.prog_type);
  if (!env.ops)
    return refuse_early(Status(EINVAL, "unknown program type"), Rule::BadOptions,
                        "bpfbox has no such program type");
  // bpf_check().
  if (Status st = env.log.init(opts.log_level, opts.log_size); !st)
    return refuse_early(st, Rule::BadOptions, "invalid log_level/log_size");
  env.aux.resize(env.insns.size());
  for (size_t i = 0; i < env.aux.size(); ++i) env.aux[i].orig_idx = static_cast<uint32_t>(i);

  Program program;
  Status st = run_passes(env, program);
  if (!st) finish_diagnostic(env, st.err());
  print_stats(env, std::chrono::steady_clock::now() - start);

  VerifyResult r;
  r.log = env.log.contents();
  r.log_true_size = env.log.true_size();
  // bpf_vlog_finalize(): a log that did not fit fails the load even when the program is fine.
  if (env.log.truncated()) {
    if (st.is_ok()) {
      char msg[160];
      std::snprintf(msg, sizeof msg,
                    "the verifier log needs %u bytes (log_true_size) but log_size is %u",
                    r.log_true_size, opts.log_size);
      explain(env, Rule::BadOptions).hint("pass a log buffer of at least log_true_size bytes");
      env.diag.message = msg;
    }
    st = Status(ENOSPC, "the verifier log did not fit in log_size");
  }
  // The status carries the kernel's message of the refusal when there is one.
  if (!st.is_ok() && st.err() != ENOSPC && !env.diag.message.empty())
    st = Status(st.err(), env.diag.message);
  r.status = st;
  if (r.status.is_ok()) {
    r.program = std::move(program);
  } else if (!env.diag.rule.empty()) {
    r.diagnostic = env.diag;
  } else {
    finish_diagnostic(env, r.status.err());
    r.diagnostic = env.diag;
  }
  return r;
}

}  // namespace

VerifyResult verify(std::span<const struct bpf_insn> insns, const Options& opts) {
  if (!opts.range_facts) return verify_once(insns, opts);
  // The verdict, the log and the counts are the ordinary load's (the kernel's); the range facts
  // come from a second walk that marks every recorded operand precise. It prunes less: loops
  // that converge only by widening imprecise counters never would, so it gets a budget of a few
  // times the first walk's instructions; over budget, or refused, the program has no ranges.
  Options plain = opts;
  plain.range_facts = false;
  VerifyResult r = verify_once(insns, plain);
  if (!r.status.is_ok()) return r;
  Options with_ranges = opts;
  with_ranges.log_level = 0;
  with_ranges.log_size = 0;
  const uint64_t budget =
      uint64_t(kRangeFactsBudgetFactor) * r.program->verified_insns + kRangeFactsBudgetSlack;
  const VerifyResult f =
      verify_once(insns, with_ranges, static_cast<uint32_t>(std::min<uint64_t>(budget, kMaxInsns)));
  // Each walk rewrites the program from what it saw; both see the same paths' instructions, but
  // the facts are used only when the rewrites agree.
  if (!f.status.is_ok() || f.program->xlated.size() != r.program->xlated.size() ||
      std::memcmp(f.program->xlated.data(), r.program->xlated.data(),
                  r.program->xlated.size() * sizeof(struct bpf_insn)) != 0)
    return r;
  r.program->facts = f.program->facts;
  r.program->range_facts_insns = f.program->verified_insns;
  return r;
}

}  // namespace bpfbox::verifier
