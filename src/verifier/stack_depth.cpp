// check_max_stack_depth(): the stack of the deepest chain of calls (bpf-to-bpf calls and callbacks
// both count) fits in 512 bytes, each frame rounded as the JIT allocates it (16 bytes: the
// kernel's round_up_stack_depth with the JIT on, which is how the reference machine runs), and no
// chain is deeper than eight frames. Tail calls from a callee whose callers already use 256 bytes
// are refused, as the kernel limits the worst case of tail calls times frames.
#include <cerrno>

#include "verifier/calls_common.hpp"
#include "verifier/passes.hpp"

namespace bpfbox::verifier {

using namespace calls;

namespace {

uint32_t round_up_stack_depth(uint32_t depth) {
  return (depth + 15) & ~15u;
}

bool is_pseudo_call(const struct bpf_insn& insn) {
  return insn.code == (BPF_JMP | BPF_CALL) && insn.src_reg == BPF_PSEUDO_CALL;
}
bool is_pseudo_func(const struct bpf_insn& insn) {
  return insn.code == (BPF_LD | BPF_IMM | BPF_DW) && insn.src_reg == BPF_PSEUDO_FUNC;
}

// check_max_stack_depth_subprog(): a depth-first walk of the call graph from subprogram idx,
// with an explicit stack of return points.
Status walk_from(Env& env, uint32_t idx) {
  std::vector<SubprogInfo>& sp = env.subprogs;
  const auto end_of = [&](uint32_t s) {
    return s + 1 < sp.size() ? sp[s + 1].start : static_cast<uint32_t>(env.insns.size());
  };
  uint32_t ret_insn[kMaxCallFrames], ret_prog[kMaxCallFrames];
  uint32_t depth = 0, frame = 0;
  uint32_t i = sp[idx].start;
  bool tail_call_reachable = false;
  for (;;) {
    // process_func: entering subprogram idx at frame `frame`.
    if (idx && sp[idx].has_tail_call && depth >= 256) {
      env.verbose(
          "tail_calls are not allowed when call stack of previous frames is %u bytes. Too large\n",
          depth);
      explain(env, Rule::StackDepth).at(sp[idx].start);
      return refuse(env, EACCES);
    }
    depth += round_up_stack_depth(sp[idx].stack_depth);
    if (depth > kMaxStack) {
      env.verbose("combined stack size of %u calls is %u. Too large\n", frame + 1, depth);
      explain(env, Rule::StackDepth).at(sp[idx].start);
      return refuse(env, EACCES);
    }
    bool entered = false;
    while (!entered) {
      // continue_func: the rest of subprogram idx from i.
      for (; i < end_of(idx); ++i) {
        const struct bpf_insn& insn = env.insns[i];
        if (!is_pseudo_call(insn) && !is_pseudo_func(insn)) continue;
        const int64_t next = static_cast<int64_t>(i) + insn.imm + 1;
        const int callee = next >= 0 ? find_subprog(env, static_cast<uint32_t>(next)) : -1;
        if (callee < 0) {
          env.verbose("verifier bug: callee not found at insn %lld\n",
                      static_cast<long long>(next));
          return refuse(env, EFAULT);
        }
        ret_insn[frame] = i + 1;
        ret_prog[frame] = idx;
        i = static_cast<uint32_t>(next);
        idx = static_cast<uint32_t>(callee);
        if (sp[idx].has_tail_call) tail_call_reachable = true;
        ++frame;
        if (frame >= kMaxCallFrames) {
          env.verbose("the call stack of %u frames is too deep !\n", frame);
          explain(env, Rule::CallDepth).at(ret_insn[frame - 1] - 1);
          return refuse(env, E2BIG);
        }
        entered = true;
        break;
      }
      if (entered) break;
      // The end of subprogram idx: every frame on the chain can reach a tail call.
      if (tail_call_reachable)
        for (uint32_t j = 0; j < frame; ++j) sp[ret_prog[j]].tail_call_reachable = true;
      if (frame == 0) return Status::ok();
      depth -= round_up_stack_depth(sp[idx].stack_depth);
      --frame;
      i = ret_insn[frame];
      idx = ret_prog[frame];
    }
  }
}

}  // namespace

Status check_max_stack_depth(Env& env) {
  for (uint32_t s = 0; s < env.subprogs.size(); ++s) {
    if (s && !env.subprogs[s].is_async_cb) continue;
    if (Status st = walk_from(env, s); !st) return st;
  }
  return Status::ok();
}

}  // namespace bpfbox::verifier
