// check_cfg(): a depth-first walk of the control-flow graph from the entry, as the kernel's.
// Refuses jumps outside the program, back-edges when loops are not allowed (unprivileged loads),
// instructions no path reaches and jumps into the second half of an lddw; marks the prune and
// jump points where the core checkpoints states.
#include <cerrno>
#include <vector>

#include "isa/uapi.hpp"
#include "verifier/passes.hpp"

namespace bpfbox::verifier {

namespace {

enum : uint8_t { kUnvisited = 0, kDiscovered = 1, kExplored = 2 };

bool calls_callback(const struct bpf_insn& in) {
  if (in.code != (BPF_JMP | BPF_CALL) || in.src_reg != 0) return false;
  switch (in.imm) {
    case BPF_FUNC_loop:
    case BPF_FUNC_for_each_map_elem:
    case BPF_FUNC_timer_set_callback:
    case BPF_FUNC_find_vma:
    case BPF_FUNC_user_ringbuf_drain:
      return true;
    default:
      return false;
  }
}

void mark_prune(Env& env, int64_t i) {
  if (i >= 0 && i < static_cast<int64_t>(env.aux.size())) env.aux[i].prune_point = true;
}
void mark_jmp(Env& env, int64_t i) {
  if (i >= 0 && i < static_cast<int64_t>(env.aux.size())) env.aux[i].jmp_point = true;
}

// The successors of t in the kernel's order (fall-through first), marking prune/jump points as
// visit_insn() does.
int successors(Env& env, uint32_t t, int64_t out[2]) {
  const struct bpf_insn& in = env.insns[t];
  const uint8_t cls = BPF_CLASS(in.code), op = BPF_OP(in.code);
  if (in.code == (BPF_LD | BPF_IMM | BPF_DW)) {
    out[0] = t + 2;
    if (in.src_reg != BPF_PSEUDO_FUNC) return 1;
    // A callback's address: the callee is reached as if called here.
    mark_prune(env, t + 2);
    mark_jmp(env, t + 2);
    mark_prune(env, t);
    out[1] = int64_t(t) + in.imm + 1;
    return 2;
  }
  if (cls != BPF_JMP && cls != BPF_JMP32) {
    out[0] = t + 1;
    return 1;
  }
  switch (op) {
    case BPF_EXIT:
      return 0;
    case BPF_CALL:
      out[0] = t + 1;
      if (calls_callback(in)) {
        mark_prune(env, t);
        mark_jmp(env, t);
        env.aux[t].force_checkpoint = true;
        env.aux[t].calls_callback = true;
      }
      // After every call (helpers too), as visit_func_call_insn(): paths that made different
      // calls may join there, and the return is a jump in the history.
      mark_prune(env, t + 1);
      mark_jmp(env, t + 1);
      if (in.src_reg != BPF_PSEUDO_CALL) return 1;
      mark_prune(env, t);
      out[1] = int64_t(t) + in.imm + 1;
      return 2;
    case BPF_JA: {
      const int64_t w = int64_t(t) + 1 + (cls == BPF_JMP32 ? int64_t(in.imm) : int64_t(in.off));
      out[0] = w;
      mark_prune(env, w);
      mark_jmp(env, w);
      return 1;
    }
    default:  // conditional jumps (and may_goto): both edges; the jump itself is no jmp point
      mark_prune(env, t);
      if (in.code == (BPF_JMP | BPF_JCOND)) env.aux[t].force_checkpoint = true;
      out[0] = t + 1;
      out[1] = int64_t(t) + in.off + 1;
      return 2;
  }
}

}  // namespace

Status check_cfg(Env& env) {
  const uint32_t n = static_cast<uint32_t>(env.insns.size());
  std::vector<uint8_t> state(n, kUnvisited);
  struct Frame {
    uint32_t t;
    int next;  // the next successor to look at
  };
  std::vector<Frame> stack;
  state[0] = kDiscovered;
  stack.push_back({0, 0});
  while (!stack.empty()) {
    Frame& f = stack.back();
    int64_t succ[2];
    const int count = successors(env, f.t, succ);
    if (f.next >= count) {
      state[f.t] = kExplored;
      stack.pop_back();
      continue;
    }
    const uint32_t t = f.t;
    const int64_t w = succ[f.next++];
    if (w < 0 || w >= n) {
      env.verbose("jump out of range from insn %u to %lld\n", t, static_cast<long long>(w));
      explain(env, Rule::JumpOutOfRange).at(t);
      return Status(EINVAL, "jump out of range");
    }
    if (f.next == 2) {
      // A branch target (push_insn's BRANCH edge) is a prune point: paths join there.
      mark_prune(env, w);
      mark_jmp(env, w);
    }
    if (state[w] == kDiscovered) {
      // A loop: the core explores it (bounded loops) when the load may have them.
      mark_prune(env, w);
      mark_jmp(env, w);
      if (env.privileged()) continue;
      env.verbose("back-edge from insn %u to %lld\n", t, static_cast<long long>(w));
      explain(env, Rule::BackEdge).at(t);
      return Status(EINVAL, "back-edge");
    }
    if (state[w] == kUnvisited) {
      state[w] = kDiscovered;
      stack.push_back({static_cast<uint32_t>(w), 0});
    }
  }
  for (uint32_t i = 0; i < n; ++i) {
    if (state[i] != kExplored) {
      env.verbose("unreachable insn %u\n", i);
      explain(env, Rule::Unreachable).at(i);
      return Status(EINVAL, "unreachable insn");
    }
    if (env.insns[i].code == (BPF_LD | BPF_IMM | BPF_DW)) {
      if (i + 1 < n && state[i + 1] != kUnvisited) {
        env.verbose("jump into the middle of ldimm64 insn %u\n", i);
        explain(env, Rule::JumpIntoLdImm64).at(i);
        return Status(EINVAL, "jump into the middle of ldimm64 insn");
      }
      ++i;
    }
  }
  return Status::ok();
}

}  // namespace bpfbox::verifier
