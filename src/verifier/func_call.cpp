// bpf-to-bpf calls and callbacks with frames, as the kernel's check_func_call / setup_func_entry /
// push_callback_call / prepare_func_exit: at most eight frames, r1-r5 passed into the callee, r0
// returned, r6-r9 kept by the caller (they live in the caller's frame), the caller's r0-r5
// unreadable after the call.
#include "verifier/func_call.hpp"

#include <cerrno>

#include "verifier/btf_info.hpp"
#include "verifier/calls_common.hpp"
#include "verifier/do_check.hpp"
#include "verifier/mem.hpp"
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

// btf_check_func_arg_match(): the caller's r1-r5 against the global function's prototype.
Status check_global_func_args(Env& env, uint32_t subprog, RegState* regs) {
  if (Status st = prepare_func_args(env, subprog); !st) return st;
  const FuncBtf& f = *subprog_btf(env, subprog);
  for (uint32_t i = 0; i < f.arg_cnt; ++i) {
    const int regno = static_cast<int>(i) + 1;
    RegState& reg = regs[regno];
    const SubprogArg& arg = f.args[i];
    if (arg.arg_type == ARG_ANYTHING) {
      if (reg.type != SCALAR_VALUE) {
        env.verbose("R%d is not a scalar\n", regno);
        return Status(EINVAL, "argument is not a scalar");
      }
    } else if (arg.arg_type == ARG_PTR_TO_CTX) {
      if (Status st = check_arg_reg_off(env, reg, regno, ARG_DONTCARE); !st) return st;
      if (reg.type != PTR_TO_CTX) {
        env.verbose("arg#%u expects pointer to ctx\n", i);
        return Status(EINVAL, "argument is not the context");
      }
    } else if (base_type(arg.arg_type) == ARG_PTR_TO_MEM) {
      if (Status st = check_arg_reg_off(env, reg, regno, ARG_DONTCARE); !st) return st;
      // check_mem_reg(): NULL passes; otherwise mem_size bytes readable and writable, checked
      // as if the pointer were not NULL.
      if (!register_is_null(reg)) {
        const RegState saved = reg;
        if (type_may_be_null(reg.type)) reg.type &= ~uint32_t(PTR_MAYBE_NULL);
        Status st =
            check_helper_mem_access(env, regno, arg.mem_size, AccessType::Read, true, false);
        if (st)
          st = check_helper_mem_access(env, regno, arg.mem_size, AccessType::Write, true, false);
        reg = saved;
        if (!st) return Status(EINVAL, st.message());
      }
      // The kernel lets a known NULL through here (check_mem_reg returns early), so a function
      // whose prototype says non-NULL dereferences it unchecked: bpfbox refuses it (sound; see
      // docs/verifier-differences.md).
      if (!(arg.arg_type & PTR_MAYBE_NULL) &&
          (type_may_be_null(reg.type) || register_is_null(reg))) {
        env.verbose("arg#%u is expected to be non-NULL\n", i);
        return Status(EINVAL, "argument may be NULL");
      }
    } else {
      env.verbose("verifier bug: unrecognized arg#%u type %u\n", i, arg.arg_type);
      return Status(EFAULT, "unrecognized argument type");
    }
  }
  return Status::ok();
}

// A call to a global function: its arguments are checked against its prototype, it is not entered
// (verified on its own later, for any arguments that match), and r0 comes back an unknown scalar.
Status check_global_func_call(Env& env, int subprog, FuncState& caller) {
  const char* name = subprog_name(env, static_cast<uint32_t>(subprog));
  if (env.cur_state->active_lock_id) {
    env.verbose(
        "global function calls are not allowed while holding a lock,\n"
        "use static function instead\n");
    explain(env, Rule::SpinLock).hint("make the function static or release the lock first");
    return refuse(env, EINVAL);
  }
  FuncBtf& f = *subprog_btf(env, static_cast<uint32_t>(subprog));
  Status st = f.unreliable
                  ? Status(EINVAL, "unreliable BTF")
                  : check_global_func_args(env, static_cast<uint32_t>(subprog), caller.regs.data());
  if (!st) f.unreliable = true;  // btf_check_subprog_call()
  if (st.err() == EFAULT) return st;
  if (!st) {
    env.verbose("Caller passes invalid args into func#%d ('%s')\n", subprog, name);
    explain(env, Rule::HelperArgument)
        .hint("pass what the global function's BTF prototype declares");
    return refuse(env, st.err());
  }
  if (env.log.level1() || env.log.level2())
    env.verbose("Func#%d ('%s') is global and assumed valid.\n", subprog, name);
  f.called = true;
  // The callee is not entered, so what it may do to the packet is taken from its summary.
  if (env.subprogs[static_cast<uint32_t>(subprog)].changes_pkt_data) clear_all_pkt_pointers(env);
  for (int r = 0; r <= 5; ++r) {
    mark_reg_not_init(caller.regs[r]);
    mark_reg_scratched(env, r);
  }
  mark_reg_unknown(env, caller.regs[0]);
  caller.regs[0].subreg_def = 0;
  return Status::ok();
}

}  // namespace

Status init_global_func_state(Env& env, FuncState& frame, uint32_t subprog) {
  init_reg_state(frame, 0);
  frame.subprogno = subprog;
  if (env.log.level1() || env.log.level2())
    env.verbose("Validating %s() func#%u...\n", subprog_name(env, subprog), subprog);
  if (Status st = prepare_func_args(env, subprog); !st) {
    explain(env, Rule::BtfInfo).at(env.subprogs[subprog].start);
    if (env.diag.message.empty()) env.diag.message = st.message();
    return st;
  }
  const FuncBtf& f = *subprog_btf(env, subprog);
  for (uint32_t i = 0; i < f.arg_cnt; ++i) {
    RegState& reg = frame.regs[i + 1];
    const SubprogArg& arg = f.args[i];
    if (arg.arg_type == ARG_PTR_TO_CTX) {
      mark_reg_known_zero(reg);
      reg.type = PTR_TO_CTX;
    } else if (arg.arg_type == ARG_ANYTHING) {
      mark_reg_unknown(env, reg);
    } else {
      mark_reg_known_zero(reg);
      reg.type = PTR_TO_MEM | (arg.arg_type & PTR_MAYBE_NULL);
      reg.mem_size = arg.mem_size;
      if (arg.arg_type & PTR_MAYBE_NULL) reg.id = env.new_id();
    }
  }
  return Status::ok();
}

void check_main_func_btf(Env& env) {
  FuncBtf* f = subprog_btf(env, 0);
  if (!f) return;
  // Messages of a refused prototype stay in the log, as the kernel's; only the verdict ignores it.
  const Status st = subprog_is_global(env, 0) ? prepare_func_args(env, 0) : Status(EINVAL, "");
  if (!st || f->arg_cnt != 1 || f->args[0].arg_type != ARG_PTR_TO_CTX) f->unreliable = true;
}

Status do_check_subprogs(Env& env) {
  if (!has_func_info(env)) return Status::ok();
  // Verifying one may reach calls to others: repeat until none is left.
  for (bool again = true; again;) {
    again = false;
    for (uint32_t i = 1; i < env.subprogs.size(); ++i) {
      FuncBtf* f = subprog_btf(env, i);
      if (!subprog_is_global(env, i) || !f->called || f->verified) continue;
      if (Status st = do_check_common(env, i); !st) return st;
      if (env.log.level1() || env.log.level2())
        env.verbose("Func#%u ('%s') is safe for any args that match its prototype\n", i,
                    f->name.c_str());
      f->verified = true;
      again = true;
    }
  }
  return Status::ok();
}

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
  if (subprog_is_global(env, static_cast<uint32_t>(subprog)))
    return check_global_func_call(env, subprog, *state.frame[caller_frameno]);
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
