// Spectre v1/v4 for unprivileged programs: the checks and marks (sanitize.hpp); the instructions
// they stand for are patched in by the rewrite (sanitize_fixups.cpp).
#include "verifier/sanitize.hpp"

#include <cerrno>
#include <cstdlib>

#include "verifier/do_check.hpp"
#include "verifier/regs.hpp"

namespace bpfbox::verifier {
namespace {

InsnAux& cur_aux(Env& env) {
  return env.aux[env.insn_idx];
}

// update_alu_sanitation_state(): every path through the instruction must need the same mask.
int update_alu_sanitation_state(uint32_t& state, uint32_t& limit, uint32_t alu_state,
                                uint32_t alu_limit) {
  if (state && (state != alu_state || limit != alu_limit)) return REASON_PATHS;
  state = alu_state;
  limit = alu_limit;
  return 0;
}

// retrieve_ptr_limit(): how far the pointer may move in the direction of the offset and stay
// inside its object (the stack below the frame pointer, the map value).
int retrieve_ptr_limit(const RegState& ptr, uint32_t* alu_limit, bool mask_to_left) {
  uint32_t max = 0, ptr_limit = 0;
  switch (ptr.type) {
    case PTR_TO_STACK:
      // Offset 0 (the frame pointer itself) is a valid start when moving left.
      max = kMaxStack + (mask_to_left ? 1 : 0);
      ptr_limit = static_cast<uint32_t>(-(static_cast<int64_t>(ptr.s.var_off.value) + ptr.off));
      break;
    case PTR_TO_MAP_VALUE:
      max = ptr.map_ptr ? ptr.map_ptr->value_size() : 0;
      ptr_limit = static_cast<uint32_t>(
          (mask_to_left ? static_cast<uint64_t>(ptr.s.smin) : ptr.s.umax) + ptr.off);
      break;
    default:
      return REASON_TYPE;
  }
  if (ptr_limit >= max) return REASON_LIMIT;
  *alu_limit = ptr_limit;
  return 0;
}

}  // namespace

bool can_skip_alu_sanitation(const Env& env, const struct bpf_insn& insn) {
  return env.bypass_spec_v1() || BPF_SRC(insn.code) == BPF_K || env.aux[env.insn_idx].nospec;
}

int sanitize_val_alu(Env& env, const struct bpf_insn& insn) {
  if (can_skip_alu_sanitation(env, insn)) return 0;
  InsnAux& aux = cur_aux(env);
  return update_alu_sanitation_state(aux.alu_state, aux.alu_limit, BPF_ALU_NON_POINTER, 0);
}

VerifierState* sanitize_speculative_path(Env& env, const struct bpf_insn* insn, uint32_t next_idx,
                                         uint32_t curr_idx) {
  VerifierState* branch = push_stack(env, next_idx, curr_idx, true);
  if (branch && insn) {
    RegState* regs = branch->cur().regs.data();
    mark_reg_unknown(env, regs[insn->dst_reg]);
    if (BPF_SRC(insn->code) == BPF_X) mark_reg_unknown(env, regs[insn->src_reg]);
  }
  return branch;
}

int sanitize_ptr_alu(Env& env, const struct bpf_insn& insn, const RegState& ptr,
                     const RegState& off, RegState& dst, bool ptr_is_dst, SanitizeInfo& info,
                     bool commit) {
  if (can_skip_alu_sanitation(env, insn)) return 0;
  const bool off_is_imm = off.s.is_const();
  const bool off_is_neg = off.s.smin < 0;
  const uint8_t opcode = BPF_OP(insn.code);

  // Speculative paths only look for bad accesses: the non-speculative ones set the mask.
  if (!env.cur_state->speculative) {
    if (!commit) {
      if (!off_is_imm && (off.s.smin < 0) != (off.s.smax < 0)) return REASON_BOUNDS;
      info.mask_to_left = (opcode == BPF_ADD && off_is_neg) || (opcode == BPF_SUB && !off_is_neg);
    }
    uint32_t alu_limit = 0;
    if (int err = retrieve_ptr_limit(ptr, &alu_limit, info.mask_to_left); err < 0) return err;
    uint32_t alu_state;
    if (commit) {
      // Narrow the window to the move the operation made (abs() of the u32 difference as s32).
      alu_state = info.alu_state;
      alu_limit = static_cast<uint32_t>(
          std::abs(static_cast<int64_t>(static_cast<int32_t>(info.alu_limit - alu_limit))));
      InsnAux& aux = cur_aux(env);
      return update_alu_sanitation_state(aux.alu_state, aux.alu_limit, alu_state, alu_limit);
    }
    alu_state = off_is_neg ? BPF_ALU_NEG_VALUE : 0;
    alu_state |= off_is_imm ? BPF_ALU_IMMEDIATE : 0;
    alu_state |= ptr_is_dst ? BPF_ALU_SANITIZE_SRC : BPF_ALU_SANITIZE_DST;
    if (int err = update_alu_sanitation_state(info.alu_state, info.alu_limit, alu_state, alu_limit);
        err < 0)
      return err;
  }
  // A known offset becomes an immediate in the rewrite: nothing to mask, nothing to simulate.
  if (commit || off_is_imm) return 0;

  // The masked offset is 0: the speculative path continues with dst = ptr unmoved. When the
  // offset sits in dst (scalar += ptr), dst holds the pointer for the push only.
  RegState saved = dst;
  if (!ptr_is_dst) {
    dst = ptr;
    dst.live = saved.live;
    dst.subreg_def = saved.subreg_def;
  }
  VerifierState* branch = sanitize_speculative_path(env, nullptr, env.insn_idx + 1, env.insn_idx);
  if (!ptr_is_dst) dst = saved;
  return branch ? 0 : REASON_STACK;
}

Status sanitize_err(Env& env, const struct bpf_insn& insn, int reason, bool off_is_dst) {
  static const char* const err = "pointer arithmetic with it prohibited for !root";
  const char* op = BPF_OP(insn.code) == BPF_ADD ? "add" : "sub";
  const int dst = insn.dst_reg, src = insn.src_reg;
  switch (reason) {
    case REASON_BOUNDS:
      env.verbose("R%d has unknown scalar with mixed signed bounds, %s\n", off_is_dst ? dst : src,
                  err);
      return Status(EACCES, "mixed signed bounds");
    case REASON_TYPE:
      env.verbose("R%d has pointer with unsupported alu operation, %s\n", off_is_dst ? src : dst,
                  err);
      return Status(EACCES, "unsupported alu operation");
    case REASON_PATHS:
      env.verbose("R%d tried to %s from different maps, paths or scalars, %s\n", dst, op, err);
      return Status(EACCES, "different maps, paths or scalars");
    case REASON_LIMIT:
      env.verbose("R%d tried to %s beyond pointer bounds, %s\n", dst, op, err);
      return Status(EACCES, "beyond pointer bounds");
    case REASON_STACK:
      env.verbose("R%d could not be pushed for speculative verification, %s\n", dst, err);
      return Status(ENOMEM, "speculative path not pushed");
    default:
      env.verbose("verifier internal error: unknown reason (%d)\n", reason);
      return Status(EFAULT, "unknown sanitize reason");
  }
}

bool is_spillable_regtype(uint32_t type) {
  switch (base_type(type)) {
    case PTR_TO_MAP_VALUE:
    case PTR_TO_STACK:
    case PTR_TO_CTX:
    case PTR_TO_PACKET:
    case PTR_TO_PACKET_META:
    case PTR_TO_PACKET_END:
    case PTR_TO_FLOW_KEYS:
    case CONST_PTR_TO_MAP:
    case PTR_TO_SOCKET:
    case PTR_TO_SOCK_COMMON:
    case PTR_TO_TCP_SOCK:
    case PTR_TO_XDP_SOCK:
    case PTR_TO_BTF_ID:
    case PTR_TO_BUF:
    case PTR_TO_MEM:
    case PTR_TO_FUNC:
    case PTR_TO_MAP_KEY:
    case PTR_TO_ARENA:
      return true;
    default:
      return false;
  }
}

void sanitize_stack_write(Env& env, const StackSlot& slot, uint32_t size, const RegState* value) {
  if (env.bypass_spec_v4()) return;
  bool sanitize = value && is_spillable_regtype(value->type);
  // As the kernel, the slot's first `size` type bytes in its own order (slot_type[0] is the
  // highest address there, the lowest here).
  for (uint32_t i = 0; i < size && !sanitize; ++i) {
    const uint8_t t = slot.slot_type[kRegSize - 1 - i];
    if (t != STACK_MISC && t != STACK_ZERO) sanitize = true;
  }
  if (sanitize) cur_aux(env).nospec_result = true;
}

}  // namespace bpfbox::verifier
