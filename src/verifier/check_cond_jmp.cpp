// Conditional jumps (the kernel's check_cond_jmp_op): a direction the operands' bounds rule out is
// not explored; otherwise the jump target is pushed and each direction refines the operands
// (reg_set_min_max), propagates to scalars with the same id (sync_linked_regs), resolves null
// checks for every register sharing the pointer's id (mark_ptr_or_null_regs) and learns packet
// ranges from comparisons with data_end (try_match_pkt_pointers).
#include "verifier/check_cond_jmp.hpp"

#include <algorithm>
#include <cerrno>

#include "isa/uapi.hpp"
#include "verifier/diagnostic.hpp"
#include "verifier/do_check.hpp"
#include "verifier/print.hpp"
#include "verifier/precision.hpp"
#include "verifier/prune.hpp"
#include "verifier/regs.hpp"
#include "verifier/sanitize.hpp"

namespace bpfbox::verifier {
namespace {

#define TRY(expr)                 \
  do {                            \
    Status st_ = (expr);          \
    if (!st_.is_ok()) return st_; \
  } while (0)

constexpr int32_t kAtPktEnd = -1;      // AT_PKT_END: pkt >= pkt_end
constexpr int32_t kBeyondPktEnd = -2;  // BEYOND_PKT_END: pkt > pkt_end
constexpr uint64_t kMaxPacketOff = 0xffff;

bool pointer(const RegState& r) {
  return r.is_pointer();
}

bool reg_const(const RegState& r, bool is32) {
  return r.type == SCALAR_VALUE && (is32 ? r.s.is_const32() : r.s.is_const());
}

// is_pkt_ptr_branch_taken(): after pkt > pkt_end was learnt, the same comparison is decided.
int pkt_ptr_branch_taken(const RegState& dst, const RegState& src, uint8_t op) {
  const RegState* pkt;
  if (src.type == PTR_TO_PACKET_END) {
    pkt = &dst;
  } else if (dst.type == PTR_TO_PACKET_END) {
    pkt = &src;
    op = jmp_flip(op);
  } else {
    return -1;
  }
  if (pkt->range >= 0) return -1;
  switch (op) {
    case BPF_JLE:
    case BPF_JGT:
      if (pkt->range == kBeyondPktEnd) return op == BPF_JGT;
      break;
    case BPF_JLT:
    case BPF_JGE:
      if (pkt->range == kBeyondPktEnd || pkt->range == kAtPktEnd) return op == BPF_JGE;
      break;
  }
  return -1;
}

// is_branch_taken(): 1 always, 0 never, -1 unknown.
int is_branch_taken(const RegState& a, const RegState& b, uint8_t op, bool is32) {
  if (a.is_pkt_pointer() || a.type == PTR_TO_PACKET_END) {
    if ((b.is_pkt_pointer() || b.type == PTR_TO_PACKET_END) && !is32)
      return pkt_ptr_branch_taken(a, b, op);
  }
  if (pointer(a) || pointer(b)) {
    const RegState* p = &a;
    const RegState* k = &b;
    if (!reg_const(*k, is32)) {
      op = jmp_flip(op);
      std::swap(p, k);
    }
    if (!reg_const(*k, is32)) return -1;
    if (!reg_type_not_null(*p)) return -1;
    const uint64_t v = is32 ? static_cast<uint32_t>(k->s.const_value()) : k->s.const_value();
    if (v != 0) return -1;
    if (op == BPF_JEQ) return 0;
    if (op == BPF_JNE) return 1;
    return -1;
  }
  return scalar_branch_taken(a.s, b.s, op, is32);
}

// sync_linked_regs(): every scalar with the same id takes the refined bounds.
// A register linked with a constant delta (BPF_ADD_CONST: r1 = r0; r1 += 4) takes the known
// bounds moved by the difference of the deltas, zero-extended when either link is a 32-bit add
// (w1 += 4); a 32-bit and a 64-bit link do not move each other (6.18.y).
void sync_linked_regs(VerifierState& st, const RegState& known) {
  if (known.type != SCALAR_VALUE || !known.id) return;
  const uint32_t base = known.id & ~kAddConst;
  auto delta = [](const RegState& r) -> int64_t { return (r.id & kAddConst) ? r.off : 0; };
  for_each_reg(st, [&](RegState& r) {
    if (&r == &known || r.type != SCALAR_VALUE || (r.id & ~kAddConst) != base) return;
    if (((r.id ^ known.id) & kAddConst) == kAddConst) return;
    const int32_t subreg_def = r.subreg_def;
    const uint8_t live = r.live;
    const uint32_t id = r.id;
    const int32_t off = r.off;
    const int64_t d = delta(r) - delta(known);
    r = known;
    r.subreg_def = subreg_def;
    r.live = live;
    if (d == 0) return;
    r.id = id;
    r.off = off;
    scalar_alu(r.s, Scalar::constant(static_cast<uint64_t>(d)), BPF_ADD, true);
    if ((id | known.id) & kAddConst32) r.s.zext32();
  });
}

// mark_ptr_not_null_reg(): a map-in-map's value is its inner map, typed by the outer map's
// template (map_uid stays 0: the kernel sets it only for inner maps with a bpf_timer or workqueue,
// which bpfbox's maps do not carry).
void mark_ptr_not_null_reg(RegState& r) {
  if (r.base() == PTR_TO_MAP_VALUE && r.map_ptr && r.map_ptr->inner_map_meta()) {
    r.type = CONST_PTR_TO_MAP;
    r.map_ptr = r.map_ptr->inner_map_meta();
    return;
  }
  r.type &= ~static_cast<uint32_t>(PTR_MAYBE_NULL);
}

// mark_ptr_or_null_regs(): the null check of regno resolves every register with its id.
void mark_ptr_or_null_regs(VerifierState& st, int regno, bool is_null) {
  RegState& checked = st.cur().regs[regno];
  const uint32_t id = checked.id;
  const uint32_t ref_obj_id = checked.ref_obj_id;
  if (!id) return;
  if (ref_obj_id && ref_obj_id == id && is_null) {
    // NULL: nothing was acquired on this path.
    st.refs.erase(std::remove_if(st.refs.begin(), st.refs.end(),
                                 [&](const RefState& r) { return r.id == id; }),
                  st.refs.end());
  }
  for_each_reg(st, [&](RegState& r) {
    if (!type_may_be_null(r.type) || r.id != id) return;
    if (is_null) {
      r.type = SCALAR_VALUE;
      r.id = 0;
      r.ref_obj_id = 0;
      r.map_ptr = nullptr;
      r.mem_size = 0;
      return;
    }
    mark_ptr_not_null_reg(r);
    r.id = 0;  // no spin lock can live in a map value without BTF, so the id is done
  });
}

// find_good_pkt_pointers(): every packet pointer with dst's id may read up to dst's offset.
void find_good_pkt_pointers(VerifierState& st, const RegState dst, bool range_right_open) {
  if (dst.off < 0 || (dst.off == 0 && range_right_open)) return;
  if (dst.s.umax > kMaxPacketOff || dst.s.umax + dst.off > kMaxPacketOff) return;
  int32_t new_range = dst.off + (range_right_open ? 1 : 0);
  for_each_reg(st, [&](RegState& r) {
    if (r.type == dst.type && r.id == dst.id) r.range = std::max(r.range, new_range);
  });
}

void mark_pkt_end(VerifierState& st, int regno, bool range_open) {
  RegState& r = st.cur().regs[regno];
  if (r.type != PTR_TO_PACKET) return;
  r.range = range_open ? kBeyondPktEnd : kAtPktEnd;
}

bool is_init_pkt(const RegState& r, uint32_t type) {
  return r.type == type && r.off == 0 && r.s.is_const() && r.s.const_value() == 0;
}

// try_match_pkt_pointers(): this_st continues after the jump falls through, other_st jumps.
bool try_match_pkt_pointers(const struct bpf_insn& insn, const RegState dst, const RegState src,
                            VerifierState& this_st, VerifierState& other_st) {
  if (BPF_SRC(insn.code) != BPF_X || BPF_CLASS(insn.code) == BPF_JMP32) return false;
  const bool dst_pkt_vs_end = (dst.type == PTR_TO_PACKET && src.type == PTR_TO_PACKET_END) ||
                              (dst.type == PTR_TO_PACKET_META && is_init_pkt(src, PTR_TO_PACKET));
  const bool end_vs_src_pkt = (dst.type == PTR_TO_PACKET_END && src.type == PTR_TO_PACKET) ||
                              (is_init_pkt(dst, PTR_TO_PACKET) && src.type == PTR_TO_PACKET_META);
  switch (BPF_OP(insn.code)) {
    case BPF_JGT:
      if (dst_pkt_vs_end) {
        find_good_pkt_pointers(this_st, dst, false);
        mark_pkt_end(other_st, insn.dst_reg, true);
      } else if (end_vs_src_pkt) {
        find_good_pkt_pointers(other_st, src, true);
        mark_pkt_end(this_st, insn.src_reg, false);
      } else {
        return false;
      }
      return true;
    case BPF_JLT:
      if (dst_pkt_vs_end) {
        find_good_pkt_pointers(other_st, dst, true);
        mark_pkt_end(this_st, insn.dst_reg, false);
      } else if (end_vs_src_pkt) {
        find_good_pkt_pointers(this_st, src, false);
        mark_pkt_end(other_st, insn.src_reg, true);
      } else {
        return false;
      }
      return true;
    case BPF_JGE:
      if (dst_pkt_vs_end) {
        find_good_pkt_pointers(this_st, dst, true);
        mark_pkt_end(other_st, insn.dst_reg, false);
      } else if (end_vs_src_pkt) {
        find_good_pkt_pointers(other_st, src, false);
        mark_pkt_end(this_st, insn.src_reg, true);
      } else {
        return false;
      }
      return true;
    case BPF_JLE:
      if (dst_pkt_vs_end) {
        find_good_pkt_pointers(other_st, dst, false);
        mark_pkt_end(this_st, insn.dst_reg, true);
      } else if (end_vs_src_pkt) {
        find_good_pkt_pointers(this_st, src, true);
        mark_pkt_end(other_st, insn.src_reg, false);
      } else {
        return false;
      }
      return true;
    default:
      return false;
  }
}

Status reserved(Env& env) {
  env.verbose("BPF_JMP/JMP32 uses reserved fields\n");
  explain(env, Rule::BadInsn);
  return Status(EINVAL, "BPF_JMP/JMP32 uses reserved fields");
}

void log_state(Env& env) {
  if ((env.log.level1() || env.log.level2()))
    print_insn_state(env, *env.cur_state, env.cur_state->curframe);
}

}  // namespace

Status check_cond_jmp_op(Env& env, const struct bpf_insn& insn, uint32_t* insn_idx) {
  const uint8_t op = BPF_OP(insn.code);
  if (op == BPF_JA || op > BPF_JCOND) {
    env.verbose("invalid BPF_JMP/JMP32 opcode %x\n", op);
    return Status(EINVAL, "invalid jump opcode");
  }
  TRY(check_reg_arg(env, insn.dst_reg, RegArg::Src));
  RegState* regs = env.cur_state->cur().regs.data();
  RegState src;
  if (BPF_SRC(insn.code) == BPF_X) {
    if (insn.imm != 0) return reserved(env);
    TRY(check_reg_arg(env, insn.src_reg, RegArg::Src));
    src = regs[insn.src_reg];
    const bool both_pkt =
        (regs[insn.dst_reg].is_pkt_pointer() || regs[insn.dst_reg].type == PTR_TO_PACKET_END) &&
        (src.is_pkt_pointer() || src.type == PTR_TO_PACKET_END);
    if (!both_pkt && is_pointer_value(env, src)) {
      env.verbose("R%d pointer comparison prohibited\n", insn.src_reg);
      explain(env, Rule::Privilege).reg(insn.src_reg);
      return Status(EACCES, "pointer comparison prohibited");
    }
  } else {
    if (insn.src_reg != 0) return reserved(env);
    mark_reg_scalar_const(src, static_cast<uint64_t>(static_cast<int64_t>(insn.imm)));
  }
  const RegState dst = regs[insn.dst_reg];
  const bool is32 = BPF_CLASS(insn.code) == BPF_JMP32;
  int pred = is_branch_taken(dst, src, op, is32);

  // Both operands scalars: refine each direction; a direction whose bounds come out empty is
  // as dead as one is_branch_taken ruled out, and the live one keeps its refinement, as the
  // kernel's (w1 in [0,18] with bits in 0x18 only: `if w1 > 16` falls through with w1 <= 16).
  RegState t_dst = dst, t_src = src, f_dst = dst, f_src = src;
  const bool scalars = dst.type == SCALAR_VALUE && src.type == SCALAR_VALUE;
  bool refined_out = false;
  if (pred < 0 && scalars) {
    const bool t_ok = scalar_refine(t_dst.s, t_src.s, op, is32, true);
    const bool f_ok = scalar_refine(f_dst.s, f_src.s, op, is32, false);
    if (t_ok != f_ok) {
      pred = t_ok ? 1 : 0;
      refined_out = true;
    }
  }
  auto apply = [&](VerifierState& st, RegState* rs, const RegState& d, const RegState& s) {
    rs[insn.dst_reg].s = d.s;
    if (BPF_SRC(insn.code) == BPF_X) rs[insn.src_reg].s = s.s;
    if (BPF_SRC(insn.code) == BPF_X && src.id) sync_linked_regs(st, rs[insn.src_reg]);
    if (dst.id) sync_linked_regs(st, rs[insn.dst_reg]);
  };
  // A decided branch relies on the operands' values.
  if (pred >= 0) {
    if (dst.type == SCALAR_VALUE) mark_chain_precision(env, insn.dst_reg);
    if (BPF_SRC(insn.code) == BPF_X && src.type == SCALAR_VALUE)
      mark_chain_precision(env, insn.src_reg);
  }
  // The direction ruled out is still explored as a mispredicted (speculative) path for
  // unprivileged programs.
  if (pred == 1) {
    if (!env.bypass_spec_v1() && !sanitize_speculative_path(env, &insn, *insn_idx + 1, *insn_idx))
      return Status(E2BIG, "too many pending branches");
    if (refined_out) apply(*env.cur_state, env.cur_state->cur().regs.data(), t_dst, t_src);
    log_state(env);
    *insn_idx += insn.off;
    return {};
  }
  if (pred == 0) {
    if (!env.bypass_spec_v1() &&
        !sanitize_speculative_path(env, &insn, *insn_idx + insn.off + 1, *insn_idx))
      return Status(E2BIG, "too many pending branches");
    if (refined_out) apply(*env.cur_state, env.cur_state->cur().regs.data(), f_dst, f_src);
    log_state(env);
    return {};
  }

  // Both directions: the scalars sharing an operand's id are refined together (backtracking
  // follows them through this jump).
  note_linked_regs(env, dst, BPF_SRC(insn.code) == BPF_X ? &src : nullptr);
  VerifierState* other = push_stack(env, *insn_idx + insn.off + 1, *insn_idx, false);
  if (!other) return Status(E2BIG, "too many pending branches");
  VerifierState& self = *env.cur_state;
  RegState* other_regs = other->cur().regs.data();
  regs = self.cur().regs.data();
  if (scalars) {
    apply(*other, other_regs, t_dst, t_src);
    apply(self, regs, f_dst, f_src);
  }

  // ptr_or_null == ptr: the maybe-null one is not null where they are equal.
  if (!is32 && BPF_SRC(insn.code) == BPF_X && pointer(src) && pointer(dst) &&
      type_may_be_null(src.type) != type_may_be_null(dst.type) && src.base() != PTR_TO_BTF_ID &&
      dst.base() != PTR_TO_BTF_ID) {
    RegState* eq = op == BPF_JEQ ? other_regs : op == BPF_JNE ? regs : nullptr;
    if (eq) mark_ptr_not_null_reg(eq[type_may_be_null(src.type) ? insn.src_reg : insn.dst_reg]);
  }

  if (!is32 && BPF_SRC(insn.code) == BPF_K && insn.imm == 0 && (op == BPF_JEQ || op == BPF_JNE) &&
      type_may_be_null(dst.type)) {
    mark_ptr_or_null_regs(self, insn.dst_reg, op == BPF_JNE);
    mark_ptr_or_null_regs(*other, insn.dst_reg, op == BPF_JEQ);
  } else if (!try_match_pkt_pointers(insn, dst, src, self, *other) && is_pointer_value(env, dst)) {
    env.verbose("R%d pointer comparison prohibited\n", insn.dst_reg);
    explain(env, Rule::Privilege).reg(insn.dst_reg);
    return Status(EACCES, "pointer comparison prohibited");
  }
  log_state(env);
  return {};
}

Status check_may_goto(Env& env, const struct bpf_insn& insn, uint32_t* insn_idx) {
  if (insn.code != (BPF_JMP | BPF_JCOND) || insn.src_reg != BPF_MAY_GOTO || insn.dst_reg ||
      insn.imm) {
    env.verbose("invalid may_goto imm %d\n", insn.imm);
    return Status(EINVAL, "invalid may_goto");
  }
  VerifierState* prev =
      env.cur_state->parent ? find_prev_entry(env, *env.cur_state->parent, *insn_idx) : nullptr;
  VerifierState* queued = push_stack(env, *insn_idx + 1, *insn_idx, false);
  if (!queued) return Status(E2BIG, "too many pending branches");
  queued->may_goto_depth++;
  // Scalars no check depends on that changed since the previous iteration become unknown, so
  // the loop converges.
  if (prev) widen_imprecise_scalars(env, *prev, *queued);
  *insn_idx += insn.off;
  return {};
}

}  // namespace bpfbox::verifier
