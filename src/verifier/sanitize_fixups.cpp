// The Spectre v1/v4 marks of the walk (sanitize.hpp) turned into instructions both engines run, as
// the kernel's rewrite does: speculation barriers (BPF_ST | BPF_NOSPEC, an lfence in the JIT)
// before instructions a mispredicted path must not run and after stores a bypass could undo
// (convert_ctx_accesses), and the offset of pointer arithmetic masked to 0 when it exceeds the
// limit the verifier proved (do_misc_fixups' BPF_ALU_SANITIZE sequence, with the scratch register
// BPF_REG_AX = r11).
#include <cerrno>
#include <vector>

#include "isa/uapi.hpp"
#include "verifier/patch.hpp"
#include "verifier/rewrite.hpp"
#include "verifier/sanitize.hpp"

namespace bpfbox::verifier {
namespace {

constexpr uint8_t kRegAx = BPF_REG_AX;  // the rewrite's scratch register, never the program's

struct bpf_insn raw(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  struct bpf_insn x {};
  x.code = code;
  x.dst_reg = dst;
  x.src_reg = src;
  x.off = off;
  x.imm = imm;
  return x;
}

struct bpf_insn nospec() {
  return raw(BPF_ST | BPF_NOSPEC, 0, 0, 0, 0);
}

bool is_mem_store(uint8_t code) {
  const uint8_t cls = BPF_CLASS(code);
  return (cls == BPF_ST || cls == BPF_STX) && BPF_MODE(code) == BPF_MEM;
}

}  // namespace

Status insert_speculation_barriers(Env& env) {
  for (uint32_t i = 0; i < env.insns.size(); ++i) {
    if (env.aux[i].nospec) {
      const struct bpf_insn patch[] = {nospec(), env.insns[i]};
      env.aux[i].nospec = false;  // the patched instruction keeps its facts, not the mark's work
      if (Status st = patch_insn(env, i, patch); !st) return st;
      ++i;  // now at the original instruction, which may also need a barrier after it
    }
    if (env.aux[i].nospec_result && is_mem_store(env.insns[i].code)) {
      const struct bpf_insn patch[] = {env.insns[i], nospec()};
      if (Status st = patch_insn(env, i, patch); !st) return st;
      env.aux[i].nospec_result = false;
      env.aux[i + 1].nospec_result = false;
      ++i;
    }
  }
  return Status::ok();
}

Status sanitize_alu_fixups(Env& env) {
  constexpr uint8_t kAdd = BPF_ALU64 | BPF_ADD | BPF_X;
  constexpr uint8_t kSub = BPF_ALU64 | BPF_SUB | BPF_X;
  for (uint32_t i = 0; i < env.insns.size(); ++i) {
    struct bpf_insn insn = env.insns[i];
    if (insn.code != kAdd && insn.code != kSub) continue;
    const InsnAux& aux = env.aux[i];
    if (!aux.alu_state || aux.alu_state == BPF_ALU_NON_POINTER) continue;
    const bool isneg = aux.alu_state & BPF_ALU_NEG_VALUE;
    const bool issrc = (aux.alu_state & BPF_ALU_SANITIZE) == BPF_ALU_SANITIZE_SRC;
    const bool isimm = aux.alu_state & BPF_ALU_IMMEDIATE;
    const uint8_t off_reg = issrc ? insn.src_reg : insn.dst_reg;
    const int32_t limit = static_cast<int32_t>(aux.alu_limit);
    std::vector<struct bpf_insn> patch;
    if (isimm) {
      // A constant offset: use the move the verifier saw, not the register.
      patch.push_back(raw(BPF_ALU | BPF_MOV | BPF_K, kRegAx, 0, 0, limit));
    } else {
      // ax = off when 0 <= off <= limit, else 0: (limit - off) | off has its sign bit set
      // exactly when off is out of [0, limit]; negated and shifted, that is the mask.
      if (isneg) patch.push_back(raw(BPF_ALU64 | BPF_MUL | BPF_K, off_reg, 0, 0, -1));
      patch.push_back(raw(BPF_ALU | BPF_MOV | BPF_K, kRegAx, 0, 0, limit));
      patch.push_back(raw(BPF_ALU64 | BPF_SUB | BPF_X, kRegAx, off_reg, 0, 0));
      patch.push_back(raw(BPF_ALU64 | BPF_OR | BPF_X, kRegAx, off_reg, 0, 0));
      patch.push_back(raw(BPF_ALU64 | BPF_NEG | BPF_K, kRegAx, 0, 0, 0));
      patch.push_back(raw(BPF_ALU64 | BPF_ARSH | BPF_K, kRegAx, 0, 0, 63));
      patch.push_back(raw(BPF_ALU64 | BPF_AND | BPF_X, kRegAx, off_reg, 0, 0));
    }
    // The offset in dst (scalar += pointer): dst takes the pointer first.
    if (!issrc) patch.push_back(raw(BPF_ALU64 | BPF_MOV | BPF_X, insn.dst_reg, insn.src_reg, 0, 0));
    insn.src_reg = kRegAx;
    if (isneg) insn.code = insn.code == kAdd ? kSub : kAdd;
    patch.push_back(insn);
    if (issrc && isneg && !isimm)
      patch.push_back(raw(BPF_ALU64 | BPF_MUL | BPF_K, off_reg, 0, 0, -1));
    if (Status st = patch_insn(env, i, patch); !st) return st;
    i += static_cast<uint32_t>(patch.size()) - 1;
  }
  return Status::ok();
}

}  // namespace bpfbox::verifier
