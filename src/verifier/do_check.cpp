// The abstract interpreter's main loop (the kernel's do_check / do_check_common): one path at a
// time from the entry state, each instruction checked against the current state and applied to
// it, forks pushed on a stack of pending branches, paths cut short at prune points when a state
// already proven safe covers them, every path ending at an exit.
#include "verifier/do_check.hpp"

#include <cerrno>

#include "isa/uapi.hpp"

#include "verifier/check_alu.hpp"
#include "verifier/check_cond_jmp.hpp"
#include "verifier/diagnostic.hpp"
#include "verifier/insn_facts.hpp"
#include "verifier/mem.hpp"
#include "verifier/passes.hpp"
#include "verifier/print.hpp"
#include "verifier/prune.hpp"
#include "verifier/precision.hpp"
#include "verifier/regs.hpp"
#include "verifier/sanitize.hpp"

namespace bpfbox::verifier {
namespace {

#define TRY(expr)                 \
  do {                            \
    Status st_ = (expr);          \
    if (!st_.is_ok()) return st_; \
  } while (0)

bool log_insns(const Env& env) {
  return (env.log.level1() || env.log.level2());
}

void mark_all_scratched(Env& env) {
  env.scratched_regs = ~0u;
  env.scratched_stack = ~uint64_t(0);
}

// pop_stack(): the next pending branch becomes the current state; false when none is left.
bool pop_stack(Env& env, bool pop_log) {
  if (env.pending.empty()) return false;
  Env::PendingBranch b = std::move(env.pending.back());
  env.pending.pop_back();
  env.cur_state = std::move(b.state);
  env.insn_idx = b.insn_idx;
  env.prev_insn_idx = b.prev_insn_idx;
  if (pop_log) env.log.reset(b.log_pos);
  return true;
}

// check_ld_imm(): lddw of a constant, a map (CONST_PTR_TO_MAP), a map value address, a function.
Status check_ld_imm(Env& env, const struct bpf_insn* insn) {
  if (BPF_SIZE(insn->code) != BPF_DW) {
    env.verbose("invalid BPF_LD_IMM insn\n");
    return Status(EINVAL, "invalid BPF_LD_IMM insn");
  }
  if (insn->off != 0) {
    env.verbose("BPF_LD_IMM64 uses reserved fields\n");
    return Status(EINVAL, "BPF_LD_IMM64 uses reserved fields");
  }
  TRY(check_reg_arg(env, insn->dst_reg, RegArg::DstNoMark));
  RegState& dst = env.cur_state->cur().regs[insn->dst_reg];
  const InsnAux& aux = env.aux[env.insn_idx];
  const uint64_t imm64 = static_cast<uint32_t>(insn[0].imm) |
                         (static_cast<uint64_t>(static_cast<uint32_t>(insn[1].imm)) << 32);
  switch (insn->src_reg) {
    case 0:
      mark_reg_scalar_const(dst, imm64);
      return {};
    case BPF_PSEUDO_FUNC:
      TRY(check_pseudo_func_btf(env, aux.call_imm));
      mark_reg_known_zero(dst);
      dst.type = PTR_TO_FUNC;
      dst.subprogno = aux.call_imm;
      return {};
    case BPF_PSEUDO_MAP_FD:
    case BPF_PSEUDO_MAP_IDX:
      mark_reg_known_zero(dst);
      dst.type = CONST_PTR_TO_MAP;
      dst.map_ptr = aux.map_ptr;
      return {};
    case BPF_PSEUDO_MAP_VALUE:
    case BPF_PSEUDO_MAP_IDX_VALUE:
      mark_reg_known_zero(dst);
      dst.type = PTR_TO_MAP_VALUE;
      dst.map_ptr = aux.map_ptr;
      dst.off = static_cast<int32_t>(aux.map_off);
      return {};
    default:
      env.verbose("bpf verifier is misconfigured\n");
      return Status(EINVAL, "unexpected lddw source");
  }
}

// One instruction (do_check_insn). Returns 1 when the path ended (the main program's exit).
Result<int> do_check_insn(Env& env) {
  const struct bpf_insn* insn = &env.insns[env.insn_idx];
  const uint8_t cls = BPF_CLASS(insn->code);
  switch (cls) {
    case BPF_ALU:
    case BPF_ALU64:
      TRY(check_alu_op(env, *insn));
      break;
    case BPF_LDX:
      TRY(check_load(env, *insn));
      break;
    case BPF_STX:
      if (BPF_MODE(insn->code) == BPF_ATOMIC) {
        TRY(check_atomic(env, *insn));
        break;
      }
      if (BPF_MODE(insn->code) != BPF_MEM || insn->imm != 0) {
        env.verbose("BPF_STX uses reserved fields\n");
        return Status(EINVAL, "BPF_STX uses reserved fields");
      }
      TRY(check_store(env, *insn));
      break;
    case BPF_ST:
      if (BPF_MODE(insn->code) != BPF_MEM || insn->src_reg != 0) {
        env.verbose("BPF_ST uses reserved fields\n");
        return Status(EINVAL, "BPF_ST uses reserved fields");
      }
      TRY(check_store(env, *insn));
      break;
    case BPF_JMP:
    case BPF_JMP32: {
      const uint8_t op = BPF_OP(insn->code);
      if (op == BPF_CALL) {
        if (BPF_SRC(insn->code) != BPF_K ||
            (insn->src_reg != BPF_PSEUDO_KFUNC_CALL && insn->off != 0) ||
            (insn->src_reg != 0 && insn->src_reg != BPF_PSEUDO_CALL &&
             insn->src_reg != BPF_PSEUDO_KFUNC_CALL) ||
            insn->dst_reg != 0 || cls == BPF_JMP32) {
          env.verbose("BPF_CALL uses reserved fields\n");
          return Status(EINVAL, "BPF_CALL uses reserved fields");
        }
        // While a spin lock is held, only bpf_spin_unlock may be called (6.x): static bpf-to-bpf
        // calls are allowed (the callee runs under the lock and is checked likewise), global
        // ones are refused by check_func_call, kfuncs are all refused (bpfbox has none).
        if (env.cur_state->active_lock_id &&
            ((insn->src_reg == 0 && insn->imm != BPF_FUNC_spin_unlock) ||
             insn->src_reg == BPF_PSEUDO_KFUNC_CALL)) {
          env.verbose("function calls are not allowed while holding a lock\n");
          explain(env, Rule::SpinLock);
          return Status(EINVAL, "call while holding a lock");
        }
        if (insn->src_reg == BPF_PSEUDO_CALL) {
          TRY(check_func_call(env, &env.insn_idx));
        } else if (insn->src_reg == BPF_PSEUDO_KFUNC_CALL) {
          env.verbose("calling kernel functions is not supported\n");
          return Status(EINVAL, "kfunc calls are not supported");
        } else {
          TRY(check_helper_call(env, &env.insn_idx));
        }
        mark_reg_scratched(env, 0);
        break;
      }
      if (op == BPF_JA) {
        if (BPF_SRC(insn->code) != BPF_K || insn->src_reg != 0 || insn->dst_reg != 0 ||
            (cls == BPF_JMP && insn->imm != 0) || (cls == BPF_JMP32 && insn->off != 0)) {
          env.verbose("BPF_JA uses reserved fields\n");
          return Status(EINVAL, "BPF_JA uses reserved fields");
        }
        env.insn_idx += (cls == BPF_JMP ? insn->off : insn->imm) + 1;
        return 0;
      }
      if (op == BPF_EXIT) {
        if (BPF_SRC(insn->code) != BPF_K || insn->imm != 0 || insn->src_reg != 0 ||
            insn->dst_reg != 0 || cls == BPF_JMP32) {
          env.verbose("BPF_EXIT uses reserved fields\n");
          return Status(EINVAL, "BPF_EXIT uses reserved fields");
        }
        if (env.cur_state->curframe) {
          // Back in the caller: prepare_func_exit sets where the caller continues.
          TRY(prepare_func_exit(env, &env.insn_idx));
          return 2;
        }
        TRY(check_main_exit(env));
        return 1;
      }
      if (op == BPF_JCOND) {
        TRY(check_may_goto(env, *insn, &env.insn_idx));
        break;
      }
      TRY(check_cond_jmp_op(env, *insn, &env.insn_idx));
      break;
    }
    case BPF_LD: {
      const uint8_t mode = BPF_MODE(insn->code);
      if (mode == BPF_ABS || mode == BPF_IND) {
        TRY(check_ld_abs(env, *insn));
      } else if (mode == BPF_IMM) {
        TRY(check_ld_imm(env, insn));
        env.insn_idx++;
        if (!env.cur_state->speculative) env.aux[env.insn_idx].seen = true;
      } else {
        env.verbose("invalid BPF_LD mode\n");
        return Status(EINVAL, "invalid BPF_LD mode");
      }
      break;
    }
    default:
      env.verbose("unknown insn class %d\n", cls);
      return Status(EINVAL, "unknown insn class");
  }
  env.insn_idx++;
  return 0;
}

// The entry state of the main program: r1 the context, r10 the frame pointer.
std::unique_ptr<VerifierState> entry_state() {
  auto st = std::make_unique<VerifierState>();
  st->frame[0] = std::make_unique<FuncState>();
  init_reg_state(*st->frame[0], 0);
  RegState& r1 = st->frame[0]->regs[1];
  r1.type = PTR_TO_CTX;
  mark_reg_known_zero(r1);
  return st;
}

Status do_check_paths(Env& env) {
  const bool pop_log = !env.log.level2();
  bool do_print_state = false;
  const uint32_t insn_cnt = static_cast<uint32_t>(env.insns.size());
  for (;;) {
    if (env.insn_idx >= insn_cnt) {
      env.verbose("invalid insn idx %d insn_cnt %d\n", env.insn_idx, insn_cnt);
      return Status(EFAULT, "instruction index out of range");
    }
    if (++env.insn_processed > env.insn_limit) {
      env.verbose("BPF program is too large. Processed %d insn\n", env.insn_processed);
      explain(env, Rule::Complexity);
      return Status(E2BIG, "BPF program is too large");
    }
    VerifierState& st = *env.cur_state;
    st.insn_idx = env.insn_idx;
    bool path_done = false;
    const InsnAux& aux = env.aux[env.insn_idx];
    if (aux.prune_point || aux.force_checkpoint) {
      Result<int> visited = is_state_visited(env, env.insn_idx);
      if (!visited) return visited.status();
      if (*visited == 1) {
        if (log_insns(env)) {
          if (do_print_state)
            env.log.printf("\nfrom %d to %d%s: safe\n", env.prev_insn_idx, env.insn_idx,
                           env.cur_state->speculative ? " (speculative execution)" : "");
          else
            env.log.printf("%d: safe\n", env.insn_idx);
        }
        path_done = true;
      }
    }
    if (!path_done) {
      if (env.log.level2() && do_print_state) {
        env.log.printf("\nfrom %d to %d%s:", env.prev_insn_idx, env.insn_idx,
                       env.cur_state->speculative ? " (speculative execution)" : "");
        print_verifier_state(env, *env.cur_state, env.cur_state->curframe, true);
        do_print_state = false;
      }
      if (log_insns(env)) {
        if (env.scratched_regs || env.scratched_stack)
          print_insn_state(env, *env.cur_state, env.cur_state->curframe);
        verbose_linfo(env, env.insn_idx, "; ");
        print_insn(env, env.insn_idx);
      }
      // Instructions only speculative paths reach stay unseen: the rewrite traps them as dead.
      if (!st.speculative) env.aux[env.insn_idx].seen = true;
      env.prev_insn_idx = env.insn_idx;
      push_insn_history(env);
      // Only paths that run architecturally: a speculative one's operands are not real values.
      if (env.opts.range_facts && !st.speculative) note_operand_ranges(env);
      const uint8_t cls = BPF_CLASS(env.insns[env.insn_idx].code);
      if (cls == BPF_JMP || cls == BPF_JMP32) env.jmps_processed++;
      if (st.speculative && env.aux[env.insn_idx].nospec) {
        path_done = true;  // a barrier stops this speculation
      } else {
        Result<int> r = do_check_insn(env);
        if (!r && st.speculative && error_recoverable_with_nospec(r.status().err())) {
          // The mispredicted path may not run this instruction: a barrier goes before it.
          InsnAux& faulting = env.aux[env.prev_insn_idx];
          faulting.nospec = true;
          faulting.alu_state = 0;
          env.refusal = RefusalFacts{};
          path_done = true;
        } else if (!r) {
          return r.status();
        } else {
          if (*r == 2) do_print_state = true;
          path_done = *r == 1;
          // A barrier after this store (Spectre v4) also ends the speculation.
          if (!path_done && st.speculative && env.aux[env.prev_insn_idx].nospec_result)
            path_done = true;
        }
      }
    }
    if (!path_done) continue;
    // The path ended (exit or pruned): the next pending branch, if any.
    mark_all_scratched(env);
    finish_path(env);
    if (!pop_stack(env, pop_log)) break;
    do_print_state = true;
  }
  return {};
}

}  // namespace

VerifierState* push_stack(Env& env, uint32_t insn_idx, uint32_t prev_insn_idx, bool speculative) {
  Env::PendingBranch b;
  b.state = env.cur_state->clone();
  b.state->speculative |= speculative;
  b.state->insn_idx = insn_idx;
  b.insn_idx = insn_idx;
  b.prev_insn_idx = prev_insn_idx;
  b.log_pos = env.log.pos();
  VerifierState* st = b.state.get();
  if (st->parent) st->parent->branches++;  // one more path descends from that checkpoint
  env.pending.push_back(std::move(b));
  if (env.pending.size() > kMaxPendingBranches) {
    env.verbose("The sequence of %d jumps is too complex.\n", static_cast<int>(env.pending.size()));
    explain(env, Rule::Complexity);
    return nullptr;
  }
  return st;
}

Status do_check(Env& env) {
  return do_check_common(env, 0);
}

Status do_check_common(Env& env, uint32_t subprog) {
  env.cur_state = entry_state();
  reset_linfo(env);
  Status st;
  if (subprog) {
    st = init_global_func_state(env, *env.cur_state->frame[0], subprog);
  } else {
    check_main_func_btf(env);
  }
  env.insn_idx = env.subprogs[subprog].start;
  env.prev_insn_idx = env.insn_idx;
  env.pending.clear();
  mark_all_scratched(env);
  if (st.is_ok()) st = do_check_paths(env);
  const bool pop_log = !env.log.level2();
  if (st.is_ok() && pop_log) env.log.reset(0);
  env.pending.clear();
  env.cur_state.reset();
  reset_pruning(env);
  return st;
}

}  // namespace bpfbox::verifier
