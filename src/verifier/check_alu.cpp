// ALU instructions (the kernel's check_alu_op, adjust_reg_min_max_vals, adjust_ptr_min_max_vals):
// scalars go through the numeric domain; pointers may only move by the forms the kernel allows,
// and unprivileged loads get the kernel's extra restrictions (no pointer leaks, no arithmetic it
// cannot mask against speculation).
#include "verifier/check_alu.hpp"

#include <cerrno>

#include "verifier/diagnostic.hpp"
#include "verifier/mem.hpp"
#include "verifier/print.hpp"
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

// bpf_alu_string[], indexed by BPF_OP >> 4.
const char* alu_string(uint8_t op) {
  static const char* const kNames[16] = {"+=",  "-=", "*=", "/=", "|=",   "&=",     "<<=", ">>=",
                                         "neg", "%=", "^=", "=",  "s>>=", "endian", "?",   "?"};
  return kNames[op >> 4];
}

Status reserved(Env& env, const char* what) {
  env.verbose("%s uses reserved fields\n", what);
  explain(env, Rule::BadInsn);
  return Status(EINVAL, std::string(what) + " uses reserved fields");
}

Status refuse_ptr(Env& env, int regno, Rule rule, const char* why) {
  explain(env, rule).reg(regno);
  return Status(EACCES, why);
}

Status refuse_sanitize(Env& env, const struct bpf_insn& insn, int reason, bool off_is_dst) {
  Status st = sanitize_err(env, insn, reason, off_is_dst);
  const int regno = reason == REASON_BOUNDS ? (off_is_dst ? insn.dst_reg : insn.src_reg)
                    : reason == REASON_TYPE ? (off_is_dst ? insn.src_reg : insn.dst_reg)
                                            : insn.dst_reg;
  explain(env, Rule::Privilege).reg(regno);
  return st;
}

void unbound32(RegState& r) {
  r.s.s32_min = INT32_MIN;
  r.s.s32_max = INT32_MAX;
  r.s.u32_min = 0;
  r.s.u32_max = UINT32_MAX;
}

int reg_width(const RegState& r) {
  return r.s.umax ? 64 - __builtin_clzll(r.s.umax) : 0;
}

void assign_scalar_id_before_mov(Env& env, RegState& r) {
  if (r.type != SCALAR_VALUE) return;
  // A copy of a register linked with a delta starts a new relation (one delta per link).
  if (r.id & kAddConst) {
    r.id = 0;
    r.off = 0;
  }
  if (!r.id && !r.s.is_const()) r.id = env.new_id();
}

// After dst OP= src: dst += / -= a constant keeps dst linked to the registers it shared an id
// with, `off` the signed delta — BPF_ADD_CONST64, or BPF_ADD_CONST32 for a 32-bit operation on a
// dst whose upper half was zero (dst_umax: before the operation). A second delta, a constant
// outside s32 or any other operation ends the relation (6.18.y's adjust_reg_min_max_vals).
void link_add_const(Env& env, RegState& dst, const RegState& src, uint8_t op, bool alu64,
                    uint64_t dst_umax) {
  const bool alu32 = !alu64;
  if (env.privileged() && (op == BPF_ADD || op == BPF_SUB) && dst.id &&
      (alu32 ? src.s.is_const32() : src.s.is_const()) && !(dst.id & kAddConst)) {
    const uint64_t val = alu32 ? static_cast<uint32_t>(src.s.var_off.value) : src.s.const_value();
    const bool fits =
        alu32 ? dst_umax <= UINT32_MAX
              : static_cast<int64_t>(val) >= INT32_MIN && static_cast<int64_t>(val) <= INT32_MAX;
    int32_t off = static_cast<int32_t>(static_cast<uint32_t>(val));
    if (fits && !(op == BPF_SUB && off == INT32_MIN)) {
      if (op == BPF_SUB) off = -off;
      dst.id |= alu32 ? kAddConst32 : kAddConst64;
      dst.off = off;
      return;
    }
  }
  dst.id = 0;
  dst.off = 0;
}

// check_reg_sane_offset(): offsets beyond ±2^29 or unbounded below make a pointer untrackable.
Status check_reg_sane_offset(Env& env, const RegState& reg, uint32_t ptr_type) {
  const bool known = reg.s.is_const();
  const int64_t val = static_cast<int64_t>(reg.s.var_off.value);
  const std::string t = reg_type_str(ptr_type);
  const char* msg = nullptr;
  if (known && (val >= kMaxVarOff || val <= -kMaxVarOff)) {
    env.verbose("math between %s pointer and %lld is not allowed\n", t.c_str(),
                static_cast<long long>(val));
    msg = "pointer offset too large";
  } else if (reg.off >= kMaxVarOff || reg.off <= -kMaxVarOff) {
    env.verbose("%s pointer offset %d is not allowed\n", t.c_str(), reg.off);
    msg = "pointer offset too large";
  } else if (reg.s.smin == INT64_MIN) {
    env.verbose("math between %s pointer and register with unbounded min value is not allowed\n",
                t.c_str());
    msg = "unbounded pointer arithmetic";
  } else if (reg.s.smin >= kMaxVarOff || reg.s.smin <= -kMaxVarOff) {
    env.verbose("value %lld makes %s pointer be out of bounds\n",
                static_cast<long long>(reg.s.smin), t.c_str());
    msg = "pointer out of bounds";
  }
  if (!msg) return {};
  explain(env, Rule::PointerArithmetic);
  return Status(EINVAL, msg);
}

// sanitize_check_bounds(): unprivileged pointer arithmetic must stay inside its object.
Status sanitize_check_bounds(Env& env, int dst, const RegState& r) {
  if (env.bypass_spec_v1()) return {};
  if (r.type == PTR_TO_STACK) {
    const int64_t off = r.off + static_cast<int64_t>(r.s.var_off.value);
    if (!r.s.is_const()) {
      env.verbose("R%d variable stack access prohibited for !root, var_off=%s off=%d\n", dst,
                  tnum_str(r.s.var_off).c_str(), static_cast<int>(off));
      return refuse_ptr(env, dst, Rule::Privilege, "variable stack access prohibited for !root");
    }
    if (off >= 0 || off < -static_cast<int64_t>(kMaxStack)) {
      env.verbose("R%d stack pointer arithmetic goes out of range, prohibited for !root; off=%d\n",
                  dst, static_cast<int>(off));
      return refuse_ptr(env, dst, Rule::Privilege, "stack pointer arithmetic out of range");
    }
  } else if (r.type == PTR_TO_MAP_VALUE) {
    const uint64_t vs = r.map_ptr ? r.map_ptr->value_size() : 0;
    const bool ok = r.s.smin >= 0 && r.s.smin != INT64_MIN && r.off + r.s.smin >= 0 &&
                    r.s.umax < static_cast<uint64_t>(kMaxVarOff) &&
                    static_cast<uint64_t>(r.off) + r.s.umax + 1 <= vs &&
                    static_cast<uint64_t>(r.off + r.s.smin) + 1 <= vs;
    if (!ok) {
      env.verbose("R%d pointer arithmetic of map value goes out of range, prohibited for !root\n",
                  dst);
      return refuse_ptr(env, dst, Rule::Privilege, "map value pointer arithmetic out of range");
    }
  }
  return {};
}

// adjust_ptr_min_max_vals(): dst = ptr OP off (or off OP ptr for scalar += pointer).
Status adjust_ptr_min_max_vals(Env& env, const struct bpf_insn& insn, const RegState ptr,
                               const RegState off_reg, bool dst_is_off) {
  RegState& dst = env.cur_state->cur().regs[insn.dst_reg];
  const int dno = insn.dst_reg;
  const uint8_t op = BPF_OP(insn.code);
  const Scalar& o = off_reg.s;
  const bool known = o.is_const();
  if ((known && (o.smin != o.smax || o.umin != o.umax)) || o.smin > o.smax || o.umin > o.umax) {
    // Bounds from a dead branch: taint the result.
    mark_reg_unknown(env, dst);
    return {};
  }
  if (BPF_CLASS(insn.code) != BPF_ALU64) {
    if (op == BPF_SUB && env.allow_ptr_leaks()) {
      mark_reg_unknown(env, dst);
      return {};
    }
    env.verbose("R%d 32-bit pointer arithmetic prohibited\n", dno);
    return refuse_ptr(env, dno, Rule::PointerArithmetic, "32-bit pointer arithmetic");
  }
  if (ptr.maybe_null()) {
    env.verbose("R%d pointer arithmetic on %s prohibited, null-check it first\n", dno,
                reg_type_str(ptr.type).c_str());
    return refuse_ptr(env, dno, Rule::NullDeref, "pointer arithmetic before the null check");
  }
  switch (ptr.base()) {
    case PTR_TO_CTX:
    case PTR_TO_MAP_VALUE:
    case PTR_TO_MAP_KEY:
    case PTR_TO_STACK:
    case PTR_TO_PACKET_META:
    case PTR_TO_PACKET:
    case PTR_TO_TP_BUFFER:
    case PTR_TO_BTF_ID:
    case PTR_TO_MEM:
    case PTR_TO_BUF:
    case PTR_TO_FUNC:
    case CONST_PTR_TO_DYNPTR:
      break;
    case PTR_TO_FLOW_KEYS:
      if (known) break;
      [[fallthrough]];
    case CONST_PTR_TO_MAP:
      if (known && o.smin == 0 && op == BPF_ADD) break;
      [[fallthrough]];
    default:
      env.verbose("R%d pointer arithmetic on %s prohibited\n", dno, reg_type_str(ptr.type).c_str());
      return refuse_ptr(env, dno, Rule::PointerArithmetic, "pointer arithmetic prohibited");
  }
  TRY(check_reg_sane_offset(env, off_reg, ptr.type));
  TRY(check_reg_sane_offset(env, ptr, ptr.type));

  // Pointers carry no 32-bit bounds.
  if (!dst_is_off) unbound32(dst);
  // Unprivileged: the offset must be maskable against speculation (sanitize_ptr_alu).
  SanitizeInfo info;
  const bool sanitize = op == BPF_ADD || op == BPF_SUB;
  if (sanitize) {
    const int ret = sanitize_ptr_alu(env, insn, ptr, off_reg, dst, !dst_is_off, info, false);
    if (ret < 0) return refuse_sanitize(env, insn, ret, dst_is_off);
  }

  RegState res = ptr;
  res.s.s32_min = INT32_MIN;
  res.s.s32_max = INT32_MAX;
  res.s.u32_min = 0;
  res.s.u32_max = UINT32_MAX;
  const Scalar& p = ptr.s;
  switch (op) {
    case BPF_ADD: {
      const int64_t fixed = static_cast<int64_t>(ptr.off) + o.smin;
      if (known && fixed == static_cast<int32_t>(fixed)) {
        res.s = p;
        res.off = static_cast<int32_t>(fixed);
        break;
      }
      int64_t a, b;
      if (__builtin_add_overflow(p.smin, o.smin, &a) ||
          __builtin_add_overflow(p.smax, o.smax, &b)) {
        res.s.smin = INT64_MIN;
        res.s.smax = INT64_MAX;
      } else {
        res.s.smin = a;
        res.s.smax = b;
      }
      uint64_t c, d;
      if (__builtin_add_overflow(p.umin, o.umin, &c) ||
          __builtin_add_overflow(p.umax, o.umax, &d)) {
        res.s.umin = 0;
        res.s.umax = UINT64_MAX;
      } else {
        res.s.umin = c;
        res.s.umax = d;
      }
      res.s.var_off = tnum_add(p.var_off, o.var_off);
      if (ptr.is_pkt_pointer()) {
        res.id = env.new_id();
        res.range = 0;  // something was added: the learnt range no longer applies
      }
      break;
    }
    case BPF_SUB: {
      if (dst_is_off) {
        env.verbose("R%d tried to subtract pointer from scalar\n", dno);
        return refuse_ptr(env, dno, Rule::PointerArithmetic, "scalar minus pointer");
      }
      if (ptr.type == PTR_TO_STACK) {
        env.verbose("R%d subtraction from stack pointer prohibited\n", dno);
        return refuse_ptr(env, dno, Rule::PointerArithmetic, "subtraction from stack pointer");
      }
      const int64_t fixed = static_cast<int64_t>(ptr.off) - o.smin;
      if (known && fixed == static_cast<int32_t>(fixed)) {
        res.s = p;
        res.off = static_cast<int32_t>(fixed);
        break;
      }
      int64_t a, b;
      if (__builtin_sub_overflow(p.smin, o.smax, &a) ||
          __builtin_sub_overflow(p.smax, o.smin, &b)) {
        res.s.smin = INT64_MIN;
        res.s.smax = INT64_MAX;
      } else {
        res.s.smin = a;
        res.s.smax = b;
      }
      if (p.umin < o.umax) {
        res.s.umin = 0;
        res.s.umax = UINT64_MAX;
      } else {
        res.s.umin = p.umin - o.umax;
        res.s.umax = p.umax - o.umin;
      }
      res.s.var_off = tnum_sub(p.var_off, o.var_off);
      if (ptr.is_pkt_pointer()) {
        res.id = env.new_id();
        if (o.smin < 0) res.range = 0;
      }
      break;
    }
    case BPF_AND:
    case BPF_OR:
    case BPF_XOR:
      env.verbose("R%d bitwise operator %s on pointer prohibited\n", dno, alu_string(op));
      return refuse_ptr(env, dno, Rule::PointerArithmetic, "bitwise operator on pointer");
    default:
      env.verbose("R%d pointer arithmetic with %s operator prohibited\n", dno, alu_string(op));
      return refuse_ptr(env, dno, Rule::PointerArithmetic, "pointer arithmetic operator");
  }
  TRY(check_reg_sane_offset(env, res, ptr.type));
  res.s.sync();
  res.live = dst.live;
  res.subreg_def = dst.subreg_def;
  dst = res;
  TRY(sanitize_check_bounds(env, dno, dst));
  if (sanitize) {
    const int ret = sanitize_ptr_alu(env, insn, dst, off_reg, dst, true, info, true);
    if (ret < 0) return refuse_sanitize(env, insn, ret, dst_is_off);
  }
  return {};
}

// adjust_reg_min_max_vals(): dst OP= src/imm for everything but mov, neg and end.
Status adjust_reg_min_max_vals(Env& env, const struct bpf_insn& insn) {
  RegState* regs = env.cur_state->cur().regs.data();
  RegState& dst = regs[insn.dst_reg];
  const uint8_t op = BPF_OP(insn.code);
  const bool alu64 = BPF_CLASS(insn.code) == BPF_ALU64;
  RegState src;
  if (BPF_SRC(insn.code) == BPF_X) {
    src = regs[insn.src_reg];
    if (src.type != SCALAR_VALUE) {
      if (dst.type != SCALAR_VALUE) {
        if (op == BPF_SUB && env.allow_ptr_leaks()) {
          mark_reg_unknown(env, dst);
          return {};
        }
        env.verbose("R%d pointer %s pointer prohibited\n", insn.dst_reg, alu_string(op));
        return refuse_ptr(env, insn.dst_reg, Rule::PointerArithmetic, "pointer op pointer");
      }
      // scalar += pointer: the result is the pointer moved by the scalar, whose value matters.
      mark_chain_precision(env, insn.dst_reg);
      return adjust_ptr_min_max_vals(env, insn, src, dst, true);
    }
    if (dst.type != SCALAR_VALUE) {
      mark_chain_precision(env, insn.src_reg);  // pointer += scalar
      return adjust_ptr_min_max_vals(env, insn, dst, src, false);
    }
  } else {
    mark_reg_scalar_const(src, static_cast<uint64_t>(static_cast<int64_t>(insn.imm)));
    if (dst.type != SCALAR_VALUE) return adjust_ptr_min_max_vals(env, insn, dst, src, false);
  }
  if (op == BPF_ADD || op == BPF_SUB) {
    if (const int ret = sanitize_val_alu(env, insn); ret < 0) {
      Status st = sanitize_err(env, insn, ret, false);
      explain(env, Rule::Privilege).reg(insn.dst_reg);
      return st;
    }
  }
  const uint64_t dst_umax = dst.s.umax;
  scalar_alu(dst.s, src.s, op, alu64, insn.off);
  link_add_const(env, dst, src, op, alu64, dst_umax);
  return {};
}

Status check_mov(Env& env, const struct bpf_insn& insn) {
  const bool alu64 = BPF_CLASS(insn.code) == BPF_ALU64;
  if (BPF_SRC(insn.code) == BPF_X) {
    const bool off_ok =
        insn.off == 0 || insn.off == 8 || insn.off == 16 || (alu64 && insn.off == 32);
    if (!off_ok || insn.imm) return reserved(env, "BPF_MOV");
    TRY(check_reg_arg(env, insn.src_reg, RegArg::Src));
  } else if (insn.src_reg != 0 || insn.off != 0) {
    return reserved(env, "BPF_MOV");
  }
  TRY(check_reg_arg(env, insn.dst_reg, RegArg::DstNoMark));
  RegState* regs = env.cur_state->cur().regs.data();
  RegState& dst = regs[insn.dst_reg];
  if (BPF_SRC(insn.code) == BPF_K) {
    mark_reg_unknown(env, dst);
    mark_reg_scalar_const(dst, alu64 ? static_cast<uint64_t>(static_cast<int64_t>(insn.imm))
                                     : static_cast<uint32_t>(insn.imm));
    dst.live |= REG_LIVE_WRITTEN;
    return {};
  }
  RegState& src = regs[insn.src_reg];
  const uint8_t live = dst.live | REG_LIVE_WRITTEN;
  if (alu64) {
    if (insn.off == 0) {
      assign_scalar_id_before_mov(env, src);
      dst = src;
      dst.subreg_def = 0;
    } else if (is_pointer_value(env, src)) {
      env.verbose("R%d sign-extension part of pointer\n", insn.src_reg);
      return refuse_ptr(env, insn.src_reg, Rule::PointerLeak, "sign-extension part of pointer");
    } else if (src.type == SCALAR_VALUE) {
      const bool no_sext = src.s.umax < (uint64_t(1) << (insn.off - 1));
      if (no_sext) assign_scalar_id_before_mov(env, src);
      dst = src;
      if (!no_sext) dst.id = 0;
      const Scalar from = src.s;
      scalar_alu(dst.s, from, BPF_MOV, true, insn.off);
      dst.subreg_def = 0;
    } else {
      mark_reg_unknown(env, dst);
    }
  } else {
    if (is_pointer_value(env, src)) {
      env.verbose("R%d partial copy of pointer\n", insn.src_reg);
      return refuse_ptr(env, insn.src_reg, Rule::PointerLeak, "partial copy of pointer");
    }
    if (src.type == SCALAR_VALUE) {
      if (insn.off == 0) {
        const bool is_u32 = reg_width(src) <= 32;
        if (is_u32) assign_scalar_id_before_mov(env, src);
        dst = src;
        if (!is_u32) dst.id = 0;
        dst.s.zext32();
      } else {
        const bool no_sext = src.s.umax < (uint64_t(1) << (insn.off - 1));
        if (no_sext) assign_scalar_id_before_mov(env, src);
        dst = src;
        if (!no_sext) dst.id = 0;
        // w = (s8/s16) w: sign-extend within 32 bits, then zero-extend.
        const Scalar from = src.s;
        scalar_alu(dst.s, from, BPF_MOV, false, insn.off);
      }
      dst.subreg_def = static_cast<int32_t>(env.insn_idx) + 1;
    } else {
      // A pointer's low half (root may copy it): unknown, but a 32-bit mov zero-extends.
      mark_reg_unknown(env, dst);
      dst.s.zext32();
    }
    dst.s.sync();
  }
  dst.live = live;
  return {};
}

}  // namespace

Status check_alu_op(Env& env, const struct bpf_insn& insn) {
  const uint8_t op = BPF_OP(insn.code);
  const bool alu64 = BPF_CLASS(insn.code) == BPF_ALU64;
  if (op == BPF_END || op == BPF_NEG) {
    if (op == BPF_NEG) {
      if (BPF_SRC(insn.code) != BPF_K || insn.src_reg != 0 || insn.off != 0 || insn.imm != 0)
        return reserved(env, "BPF_NEG");
    } else if (insn.src_reg != 0 || insn.off != 0 ||
               (insn.imm != 16 && insn.imm != 32 && insn.imm != 64) ||
               (alu64 && BPF_SRC(insn.code) != BPF_TO_LE)) {
      return reserved(env, "BPF_END");
    }
    TRY(check_reg_arg(env, insn.dst_reg, RegArg::Src));
    RegState& dst = env.cur_state->cur().regs[insn.dst_reg];
    if (is_pointer_value(env, dst)) {
      env.verbose("R%d pointer arithmetic prohibited\n", insn.dst_reg);
      return refuse_ptr(env, insn.dst_reg, Rule::PointerArithmetic,
                        "pointer arithmetic prohibited");
    }
    if (dst.type == SCALAR_VALUE) {
      TRY(check_reg_arg(env, insn.dst_reg, RegArg::DstNoMark));
      if (op == BPF_NEG)
        scalar_neg(dst.s, alu64);
      else
        scalar_endian(dst.s, insn.code, insn.imm);
      dst.id = 0;
      return {};
    }
    return check_reg_arg(env, insn.dst_reg, RegArg::Dst);
  }
  if (op == BPF_MOV) return check_mov(env, insn);
  if (op > BPF_END) {
    env.verbose("invalid BPF_ALU opcode %x\n", op);
    return Status(EINVAL, "invalid BPF_ALU opcode");
  }
  const bool sdiv_ok = insn.off == 0 || (insn.off == 1 && (op == BPF_MOD || op == BPF_DIV));
  if (BPF_SRC(insn.code) == BPF_X) {
    if (insn.imm != 0 || !sdiv_ok) return reserved(env, "BPF_ALU");
    TRY(check_reg_arg(env, insn.src_reg, RegArg::Src));
  } else if (insn.src_reg != 0 || !sdiv_ok) {
    return reserved(env, "BPF_ALU");
  }
  TRY(check_reg_arg(env, insn.dst_reg, RegArg::Src));
  if ((op == BPF_MOD || op == BPF_DIV) && BPF_SRC(insn.code) == BPF_K && insn.imm == 0) {
    env.verbose("div by zero\n");
    return Status(EINVAL, "div by zero");
  }
  if ((op == BPF_LSH || op == BPF_RSH || op == BPF_ARSH) && BPF_SRC(insn.code) == BPF_K) {
    const int size = alu64 ? 64 : 32;
    if (insn.imm < 0 || insn.imm >= size) {
      env.verbose("invalid shift %d\n", insn.imm);
      return Status(EINVAL, "invalid shift");
    }
  }
  TRY(check_reg_arg(env, insn.dst_reg, RegArg::DstNoMark));
  return adjust_reg_min_max_vals(env, insn);
}

}  // namespace bpfbox::verifier
