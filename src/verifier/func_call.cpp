// bpf-to-bpf calls and callbacks with frames, as the kernel's check_func_call / setup_func_entry /
// push_callback_call / prepare_func_exit: at most eight frames, r1-r5 passed into the callee, r0
// returned, r6-r9 kept by the caller (they live in the caller's frame), the caller's r0-r5
// unreadable after the call.
#include "verifier/func_call.hpp"

#include <cerrno>

#include "verifier/calls_common.hpp"
#include "verifier/do_check.hpp"
#include "verifier/passes.hpp"
#include "verifier/precision.hpp"
#include "verifier/print.hpp"
#include "verifier/regs.hpp"

namespace bpfbox::verifier {

using namespace calls;

namespace {

// init_func_state() + the callee's arguments (set_callee_state and the callbacks' variants).
Status setup_func_entry(Env& env, VerifierState& state, int subprog, uint32_t callsite,
                        CallbackKind* callback) {
  if (state.curframe + 1 >= kMaxCallFrames) {
    env.verbose("the call stack of %u frames is too deep\n", state.curframe + 2);
    explain(env, Rule::CallDepth).at(callsite);
    return refuse(env, E2BIG);
  }
  FuncState& caller = *state.frame[state.curframe];
  auto callee = std::make_unique<FuncState>();
  const uint32_t frameno = state.curframe + 1;
  init_reg_state(*callee, frameno);
  callee->callsite = callsite;
  callee->frameno = frameno;
  callee->subprogno = static_cast<uint32_t>(subprog);
  RegState* cr = caller.regs.data();
  RegState* ce = callee->regs.data();
  if (!callback) {
    // set_callee_state: the arguments as the caller left them.
    for (int r = 1; r <= 5; ++r) ce[r] = cr[r];
  } else if (*callback == CallbackKind::Loop) {
    // bpf_loop(nr, cb, ctx, flags) calls cb(u64 index, void *ctx).
    mark_reg_unknown(env, ce[1]);
    ce[2] = cr[3];
    callee->in_callback_fn = true;
    callee->callback_ret_min = 0;
    callee->callback_ret_max = 1;
  } else {
    // bpf_for_each_map_elem(map, cb, ctx, flags) calls cb(map, key, value, ctx).
    const maps::Map* map = env.aux[callsite].map_ptr;
    switch (map ? map->type() : 0u) {
      case BPF_MAP_TYPE_ARRAY:
      case BPF_MAP_TYPE_PERCPU_ARRAY:
      case BPF_MAP_TYPE_HASH:
      case BPF_MAP_TYPE_PERCPU_HASH:
      case BPF_MAP_TYPE_LRU_HASH:
      case BPF_MAP_TYPE_LRU_PERCPU_HASH:
        break;
      default:
        env.verbose("callback function not allowed for map\n");
        explain(env, Rule::HelperArgument).at(callsite);
        return refuse(env, maps::kENOTSUPP);
    }
    ce[1] = cr[1];
    mark_reg_known_zero(ce[2]);
    ce[2].type = PTR_TO_MAP_KEY;
    ce[2].map_ptr = cr[1].map_ptr;
    mark_reg_known_zero(ce[3]);
    ce[3].type = PTR_TO_MAP_VALUE;
    ce[3].map_ptr = cr[1].map_ptr;
    ce[4] = cr[3];
    callee->in_callback_fn = true;
    callee->callback_ret_min = 0;
    callee->callback_ret_max = 1;
  }
  for (int r = 0; r < kMaxBpfReg; ++r) ce[r].live = REG_LIVE_NONE;
  state.frame[frameno] = std::move(callee);
  state.curframe = frameno;
  return Status::ok();
}

}  // namespace

Status check_func_call(Env& env, uint32_t* insn_idx) {
  VerifierState& state = *env.cur_state;
  const struct bpf_insn& insn = env.insns[*insn_idx];
  const int64_t target = static_cast<int64_t>(*insn_idx) + insn.imm + 1;
  const int subprog = target >= 0 ? find_subprog(env, static_cast<uint32_t>(target)) : -1;
  if (subprog < 0) {
    env.verbose("verifier bug: target of func call at insn %lld is not a program\n",
                static_cast<long long>(target));
    return refuse(env, EFAULT);
  }
  const uint32_t caller_frameno = state.curframe;
  if (Status st = setup_func_entry(env, state, subprog, *insn_idx, nullptr); !st) return st;
  // clear_caller_saved_regs(): the caller's r0-r5 are the callee's business now.
  FuncState& caller = *state.frame[caller_frameno];
  for (int r = 0; r <= 5; ++r) {
    mark_reg_not_init(caller.regs[r]);
    mark_reg_scratched(env, r);
  }
  *insn_idx = env.subprogs[subprog].start - 1;
  if (env.log.level1() || env.log.level2()) {
    env.verbose("caller:\n");
    print_verifier_state(env, state, caller_frameno, true);
    env.verbose("callee:\n");
    print_verifier_state(env, state, state.curframe, true);
  }
  return Status::ok();
}

Status push_callback_call(Env& env, uint32_t insn_idx, int subprog, CallbackKind kind) {
  if (subprog < 0 || static_cast<size_t>(subprog) >= env.subprogs.size()) {
    env.verbose("verifier bug: callback subprog %d at insn %u\n", subprog, insn_idx);
    return refuse(env, EFAULT);
  }
  env.subprogs[subprog].is_cb = true;
  // The callback is explored as a branch of its own, entered from the helper call.
  VerifierState* pushed = push_stack(env, env.subprogs[subprog].start, insn_idx, false);
  if (!pushed) return refuse(env, E2BIG);
  VerifierState& callback_state = *pushed;
  if (Status st = setup_func_entry(env, callback_state, subprog, insn_idx, &kind); !st) {
    env.pending.pop_back();
    return st;
  }
  callback_state.callback_unroll_depth++;
  callback_state.frame[callback_state.curframe - 1]->callback_depth++;
  env.cur_state->cur().callback_depth = 0;
  return Status::ok();
}

Status prepare_func_exit(Env& env, uint32_t* insn_idx) {
  VerifierState& state = *env.cur_state;
  FuncState& callee = *state.frame[state.curframe];
  RegState& r0 = callee.regs[0];
  if (r0.type == PTR_TO_STACK) {
    // The callee's stack dies with it; returning any stack pointer is refused to be safe.
    env.verbose("cannot return stack pointer to the caller\n");
    explain(env, Rule::PointerLeak).reg(0);
    return refuse(env, EINVAL);
  }
  FuncState& caller = *state.frame[state.curframe - 1];
  if (callee.in_callback_fn) {
    if (r0.type != SCALAR_VALUE) {
      env.verbose("R0 not a scalar value\n");
      explain(env, Rule::ReturnValue).reg(0);
      return refuse(env, EACCES);
    }
    mark_chain_precision(env, 0);
    if (!retval_in_range(r0, callee.callback_ret_min, callee.callback_ret_max)) {
      verbose_invalid_scalar(env, r0, callee.callback_ret_min, callee.callback_ret_max,
                             "At callback return", "R0");
      explain(env, Rule::ReturnValue).reg(0);
      return refuse(env, EINVAL);
    }
  } else {
    caller.regs[0] = r0;
  }
  // A callback returns to its helper call, which schedules the next iteration until the states
  // converge; a function returns to the instruction after its call.
  const bool in_callback_fn = callee.in_callback_fn;
  *insn_idx = in_callback_fn ? callee.callsite : callee.callsite + 1;
  if (env.log.level1() || env.log.level2()) {
    env.verbose("returning from callee:\n");
    print_verifier_state(env, state, callee.frameno, true);
    env.verbose("to caller at %u:\n", *insn_idx);
    print_verifier_state(env, state, caller.frameno, true);
  }
  state.frame[state.curframe].reset();
  state.curframe--;
  return Status::ok();
}

}  // namespace bpfbox::verifier
