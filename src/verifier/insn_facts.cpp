#include "verifier/insn_facts.hpp"

#include <algorithm>

#include "isa/uapi.hpp"
#include "verifier/precision.hpp"

namespace bpfbox::verifier {

namespace {

vm::InsnFacts facts_of(const Env& env, const RegState& base) {
  vm::InsnFacts f;
  switch (base.base()) {
    case PTR_TO_STACK: {
      f.region = vm::AccessRegion::Stack;
      const uint32_t cur = env.cur_state->curframe;
      if (base.s.is_const() && base.frameno <= cur) {
        const int64_t off = base.off + static_cast<int64_t>(base.s.const_value());
        f.stack_const = off >= INT32_MIN && off <= INT32_MAX;
        f.stack_frame_up = static_cast<uint8_t>(cur - base.frameno);
        f.stack_off = static_cast<int32_t>(off);
      }
      break;
    }
    case PTR_TO_CTX:
      f.region = vm::AccessRegion::Ctx;
      break;
    case PTR_TO_PACKET:
    case PTR_TO_PACKET_META:
      f.region = vm::AccessRegion::Packet;
      break;
    case PTR_TO_MAP_VALUE: {
      f.region = vm::AccessRegion::MapValue;
      // An inner map's value is typed by its template (map_uid stays 0 without timers, as the
      // kernel's): the map itself is known only at run time, and may be one the program also
      // reaches through an lddw.
      const maps::Map* m = base.map_ptr;
      const bool outer =
          m && (m->type() == BPF_MAP_TYPE_ARRAY_OF_MAPS || m->type() == BPF_MAP_TYPE_HASH_OF_MAPS);
      f.map = base.map_uid == 0 && !outer && m && !m->is_inner_map_meta() ? m : nullptr;
      break;
    }
    default:
      break;  // helper memory, sockets, BTF objects: no fact
  }
  return f;
}

bool is_mem_access(const struct bpf_insn& insn) {
  const uint8_t cls = BPF_CLASS(insn.code), mode = BPF_MODE(insn.code);
  if (cls == BPF_LDX) return mode == BPF_MEM || mode == BPF_MEMSX;
  if (cls == BPF_ST) return mode == BPF_MEM;
  if (cls == BPF_STX) return mode == BPF_MEM || mode == BPF_ATOMIC;
  return false;
}

uint8_t base_reg(const struct bpf_insn& insn) {
  return BPF_CLASS(insn.code) == BPF_LDX ? insn.src_reg : insn.dst_reg;
}

// The operands whose ranges the engines use (note_operand_ranges): kDst/kSrc bits.
uint8_t ranged_operands(const struct bpf_insn& insn) {
  using R = InsnAux::RangeRecord;
  const uint8_t cls = BPF_CLASS(insn.code), op = BPF_OP(insn.code);
  const bool x = BPF_SRC(insn.code) == BPF_X;
  if (insn.dst_reg >= kMaxBpfReg || (x && insn.src_reg >= kMaxBpfReg)) return 0;
  if (cls == BPF_ALU || cls == BPF_ALU64) {
    if (!x) return 0;
    if (op == BPF_DIV || op == BPF_MOD) return insn.off == 1 ? R::kDst | R::kSrc : R::kSrc;
    if (op == BPF_LSH || op == BPF_RSH || op == BPF_ARSH) return R::kSrc;
    return 0;
  }
  if (cls == BPF_JMP || cls == BPF_JMP32) {
    if (op == BPF_JA || op == BPF_CALL || op == BPF_EXIT || op == BPF_JCOND) return 0;
    return x ? R::kDst | R::kSrc : R::kDst;
  }
  return 0;
}

// The operand as a 64- or 32-bit instruction reads it.
vm::ScalarRange range_of(const Scalar& s, bool is32) {
  if (is32) return {s.u32_min, s.u32_max, s.s32_min, s.s32_max};
  return {s.umin, s.umax, s.smin, s.smax};
}

void join_range(vm::ScalarRange& j, const vm::ScalarRange& r) {
  j.umin = std::min(j.umin, r.umin);
  j.umax = std::max(j.umax, r.umax);
  j.smin = std::min(j.smin, r.smin);
  j.smax = std::max(j.smax, r.smax);
}

void note_operand(Env& env, InsnAux::RangeRecord& rec, uint8_t bit, int regno, bool is32,
                  vm::ScalarRange& joined) {
  const RegState& reg = env.cur_state->cur().regs[regno];
  if (reg.type != SCALAR_VALUE) {
    rec.poisoned |= bit;
    return;
  }
  const vm::ScalarRange r = range_of(reg.s, is32);
  if (rec.seen & bit)
    join_range(joined, r);
  else
    joined = r;
  rec.seen |= bit;
  mark_chain_precision(env, regno);
}

}  // namespace

void note_operand_ranges(Env& env) {
  using R = InsnAux::RangeRecord;
  const struct bpf_insn& insn = env.insns[env.insn_idx];
  const uint8_t which = ranged_operands(insn);
  if (!which) return;
  R& rec = env.aux[env.insn_idx].range;
  rec.code = insn.code;
  rec.dst_reg = insn.dst_reg;
  rec.src_reg = insn.src_reg;
  const uint8_t cls = BPF_CLASS(insn.code);
  const bool is32 = cls == BPF_ALU || cls == BPF_JMP32;
  if (which & R::kDst) note_operand(env, rec, R::kDst, insn.dst_reg, is32, rec.dst);
  if (which & R::kSrc) note_operand(env, rec, R::kSrc, insn.src_reg, is32, rec.src);
}

void note_mem_access(Env& env, const struct bpf_insn& insn, const RegState& base) {
  InsnAux::MemRecord& m = env.aux[env.insn_idx].mem;
  const vm::InsnFacts f = facts_of(env, base);
  if (!m.seen) {
    m.seen = true;
    m.code = insn.code;
    m.base_reg = base_reg(insn);
    m.facts = f;
    return;
  }
  // The join: a path that disagrees leaves only what all paths share.
  vm::InsnFacts& j = m.facts;
  if (j.region != f.region) {
    j = vm::InsnFacts{};
    return;
  }
  if (!j.stack_const || !f.stack_const || j.stack_frame_up != f.stack_frame_up ||
      j.stack_off != f.stack_off) {
    j.stack_const = false;
    j.stack_frame_up = 0;
    j.stack_off = 0;
  }
  if (j.map != f.map) j.map = nullptr;
}

std::vector<vm::InsnFacts> export_insn_facts(const Env& env) {
  std::vector<vm::InsnFacts> out(env.insns.size());
  for (size_t i = 0; i < env.insns.size(); ++i) {
    const InsnAux::MemRecord& m = env.aux[i].mem;
    const struct bpf_insn& insn = env.insns[i];
    if (!m.seen || !is_mem_access(insn)) continue;
    // A patch keeps the record on its last instruction (the kernel's adjust_insn_aux_data): it
    // holds only when that instruction is the whole patch (the previous one came from another
    // original instruction), an access of the same class through the same register. The
    // context's rewrite changes the offset and size, not what the base register holds.
    if (i > 0 && env.aux[i - 1].orig_idx == env.aux[i].orig_idx) continue;
    if (BPF_CLASS(insn.code) != BPF_CLASS(m.code) || base_reg(insn) != m.base_reg) continue;
    out[i] = m.facts;
  }
  for (size_t i = 0; i < env.insns.size(); ++i) {
    using R = InsnAux::RangeRecord;
    const R& r = env.aux[i].range;
    const struct bpf_insn& insn = env.insns[i];
    if (!(r.seen & ~r.poisoned)) continue;
    // The same rule as for accesses: only an instruction the rewrite left whole and unchanged.
    if (i > 0 && env.aux[i - 1].orig_idx == env.aux[i].orig_idx) continue;
    if (insn.code != r.code || insn.dst_reg != r.dst_reg || insn.src_reg != r.src_reg) continue;
    const uint8_t ok = r.seen & ~r.poisoned;
    out[i].has_dst = ok & R::kDst;
    out[i].has_src = ok & R::kSrc;
    if (out[i].has_dst) out[i].dst = r.dst;
    if (out[i].has_src) out[i].src = r.src;
  }
  return out;
}

}  // namespace bpfbox::verifier
