#include <cerrno>

#include "isa/access_size.hpp"
#include "isa/uapi.hpp"
#include "verifier/patch.hpp"
#include "verifier/rewrite.hpp"

namespace bpfbox::verifier {

namespace {

bool is_ldx(uint8_t code) {
  return BPF_CLASS(code) == BPF_LDX && (BPF_MODE(code) == BPF_MEM || BPF_MODE(code) == BPF_MEMSX);
}
bool is_store(uint8_t code) {
  return (BPF_CLASS(code) == BPF_STX || BPF_CLASS(code) == BPF_ST) && BPF_MODE(code) == BPF_MEM;
}

struct bpf_insn alu_imm(uint8_t cls, uint8_t op, uint8_t dst, int32_t imm) {
  struct bpf_insn i {};
  i.code = cls | op | BPF_K;
  i.dst_reg = dst;
  i.imm = imm;
  return i;
}

}  // namespace

Status convert_ctx_accesses(Env& env) {
  const ProgTypeOps* ops = env.ops;
  if (!ops || !ops->convert_ctx_access) return Status::ok();
  for (uint32_t i = 0; i < env.insns.size(); ++i) {
    struct bpf_insn insn = env.insns[i];
    AccessType type;
    if (is_ldx(insn.code))
      type = AccessType::Read;
    else if (is_store(insn.code))
      type = AccessType::Write;
    else
      continue;
    if (base_type(env.aux[i].ptr_type) != PTR_TO_CTX) continue;

    const uint32_t ctx_field_size = env.aux[i].ctx_field_size;
    const uint32_t size = isa::access_bytes(insn.code);
    const uint8_t mode = BPF_MODE(insn.code);
    const bool narrower = size < ctx_field_size;
    const int16_t off = insn.off;
    if (narrower) {
      if (type == AccessType::Write) {
        env.verbose("bpf verifier narrow ctx access misconfigured\n");
        return Status(EINVAL, env.refusal.last_line);
      }
      // Load the whole field; the shift below picks the bytes asked for (little endian).
      const uint8_t size_code = ctx_field_size == 8 ? BPF_DW : ctx_field_size == 4 ? BPF_W : BPF_H;
      insn.off = static_cast<int16_t>(off & ~static_cast<int16_t>(ctx_field_size - 1));
      insn.code = BPF_LDX | BPF_MEM | size_code;
    }

    struct bpf_insn buf[ProgTypeOps::kMaxCtxRewrite + 3];
    uint32_t target_size = 0;
    uint32_t cnt = ops->convert_ctx_access(type, insn, buf, &target_size);
    if (cnt == 0 || cnt > ProgTypeOps::kMaxCtxRewrite || (ctx_field_size && !target_size)) {
      env.verbose("verifier bug: error during ctx access conversion (%u)\n", cnt);
      return Status(EFAULT, env.refusal.last_line);
    }
    if (narrower && size < target_size) {
      const int32_t shift = (off & static_cast<int32_t>(ctx_field_size - 1)) * 8;
      const uint8_t cls = ctx_field_size <= 4 ? BPF_ALU : BPF_ALU64;
      if (shift) buf[cnt++] = alu_imm(cls, BPF_RSH, insn.dst_reg, shift);
      buf[cnt++] = alu_imm(BPF_ALU, BPF_AND, insn.dst_reg,
                           static_cast<int32_t>((uint64_t(1) << (size * 8)) - 1));
    }
    if (mode == BPF_MEMSX) {
      // movsx: the sign extension the program's ldsx asked for.
      struct bpf_insn sx {};
      sx.code = BPF_ALU64 | BPF_MOV | BPF_X;
      sx.dst_reg = insn.dst_reg;
      sx.src_reg = insn.dst_reg;
      sx.off = static_cast<int16_t>(size * 8);
      buf[cnt++] = sx;
    }
    if (Status st = patch_insn(env, i, std::span<const struct bpf_insn>(buf, cnt)); !st) return st;
    i += cnt - 1;
  }
  return Status::ok();
}

}  // namespace bpfbox::verifier
