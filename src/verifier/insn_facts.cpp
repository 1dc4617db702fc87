#include "verifier/insn_facts.hpp"

#include "isa/uapi.hpp"

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
      // An inner map's value is typed by its template: the map itself is known only at run time.
      const maps::Map* m = base.map_ptr;
      const bool outer =
          m && (m->type() == BPF_MAP_TYPE_ARRAY_OF_MAPS || m->type() == BPF_MAP_TYPE_HASH_OF_MAPS);
      f.map = base.map_uid == 0 && !outer ? m : nullptr;
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

}  // namespace

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
  return out;
}

}  // namespace bpfbox::verifier
