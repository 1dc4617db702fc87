// bpf_loop inlined, as the kernel's optimize_bpf_loop()/inline_bpf_loop(): a call site whose
// every path passed the same callback with flags known to be 0 becomes a counted loop that calls
// the callback directly (a bpf-to-bpf call), so no engine goes through the helper. The loop keeps
// its counter, bound and context in r6-r8, saved in 3 stack slots added below the caller's frame.
#include <cerrno>
#include <vector>

#include "verifier/patch.hpp"
#include "verifier/rewrite.hpp"

namespace bpfbox::verifier {
namespace {

// BPF_MAX_LOOPS (kernel/bpf/bpf_iter.c): more iterations are refused with -E2BIG.
constexpr int32_t kMaxLoops = 8 * 1024 * 1024;

bool is_bpf_loop_call(const struct bpf_insn& in) {
  return in.code == (BPF_JMP | BPF_CALL) && in.src_reg == 0 && in.imm == BPF_FUNC_loop;
}

struct bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  struct bpf_insn i {};
  i.code = code;
  i.dst_reg = dst;
  i.src_reg = src;
  i.off = off;
  i.imm = imm;
  return i;
}

// The loop, in the kernel's shape and order (its index 12 is the call to the callback). r6, r7,
// r8 are the bound, the counter and the context; the callback gets (counter, context) and a
// non-zero return stops the loop; r0 is the number of iterations run, or -E2BIG (32-bit) without
// running any when r1 is over BPF_MAX_LOOPS.
constexpr uint32_t kCallAt = 12;
std::vector<struct bpf_insn> loop_patch(int16_t stack_base) {
  const int16_t r6_off = stack_base, r7_off = stack_base + 8, r8_off = stack_base + 16;
  return {
      insn(BPF_JMP | BPF_JLE | BPF_K, BPF_REG_1, 0, 2, kMaxLoops),
      insn(BPF_ALU | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, -E2BIG),
      insn(BPF_JMP | BPF_JA, 0, 0, 16, 0),
      insn(BPF_STX | BPF_MEM | BPF_DW, BPF_REG_10, BPF_REG_6, r6_off, 0),
      insn(BPF_STX | BPF_MEM | BPF_DW, BPF_REG_10, BPF_REG_7, r7_off, 0),
      insn(BPF_STX | BPF_MEM | BPF_DW, BPF_REG_10, BPF_REG_8, r8_off, 0),
      insn(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_6, BPF_REG_1, 0, 0),
      insn(BPF_ALU | BPF_MOV | BPF_K, BPF_REG_7, 0, 0, 0),
      insn(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_8, BPF_REG_3, 0, 0),
      insn(BPF_JMP | BPF_JGE | BPF_X, BPF_REG_7, BPF_REG_6, 5, 0),
      insn(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_7, 0, 0),
      insn(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_8, 0, 0),
      insn(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, 0),  // imm: the callback, set after patching
      insn(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_7, 0, 0, 1),
      insn(BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, -6, 0),
      insn(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_0, BPF_REG_7, 0, 0),
      insn(BPF_LDX | BPF_MEM | BPF_DW, BPF_REG_6, BPF_REG_10, r6_off, 0),
      insn(BPF_LDX | BPF_MEM | BPF_DW, BPF_REG_7, BPF_REG_10, r7_off, 0),
      insn(BPF_LDX | BPF_MEM | BPF_DW, BPF_REG_8, BPF_REG_10, r8_off, 0),
  };
}

}  // namespace

Status optimize_bpf_loop(Env& env) {
  if (env.subprogs.empty()) return Status::ok();
  size_t cur = 0;
  uint32_t depth = env.subprogs[0].stack_depth;
  uint32_t extra = 0;  // the slots this subprogram gains (once, whatever its bpf_loop calls)
  for (uint32_t i = 0; i < env.insns.size(); ++i) {
    const InsnAux& aux = env.aux[i];
    // Also when the callback was never explored (a count known to be 0), as the kernel: the
    // dead-code pass keeps a stub of it for the loop's call.
    if (is_bpf_loop_call(env.insns[i]) && aux.loop_inline.fit &&
        aux.loop_inline.callback < env.subprogs.size()) {
      const uint32_t callback = aux.loop_inline.callback;
      extra = 3 * kRegSize + ((depth + 7) & ~7u) - depth;
      const auto patch = loop_patch(static_cast<int16_t>(-static_cast<int32_t>(depth + extra)));
      if (Status st = patch_insn(env, i, patch); !st) return st;
      const uint32_t call = i + kCallAt;
      env.insns[call].imm =
          static_cast<int32_t>(env.subprogs[callback].start) - static_cast<int32_t>(call) - 1;
      i += static_cast<uint32_t>(patch.size()) - 1;
    }
    if (cur + 1 < env.subprogs.size() && env.subprogs[cur + 1].start == i + 1) {
      env.subprogs[cur].stack_depth += extra;
      ++cur;
      depth = env.subprogs[cur].stack_depth;
      extra = 0;
    }
  }
  env.subprogs[cur].stack_depth += extra;
  return Status::ok();
}

}  // namespace bpfbox::verifier
