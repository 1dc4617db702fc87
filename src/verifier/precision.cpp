// Precision tracking, as the kernel 6.x (mark_chain_precision / backtrack_insn):
//
// A state records the instructions its path executed since its parent checkpoint (HistEntry).
// When a scalar's value decides safety, a backward walk over that history finds the registers and
// stack slots the value came from (r1 = r2 + r3 needs r2 and r3; r1 = *(fp-8) needs the slot;
// r1 = 5 needs nothing), state by state up the parent chain, marking them precise in each
// checkpoint. Pruning then compares precise scalars by range and lets imprecise ones match any
// scalar. Whatever the walk cannot follow falls back to marking every scalar of the path precise.
#include "verifier/precision.hpp"

#include <array>

#include "isa/uapi.hpp"
#include "verifier/regs.hpp"

namespace bpfbox::verifier {
namespace {

constexpr int kFrames = 8;
constexpr uint16_t kArgRegs = 0x3e;  // r1..r5

// The registers and stack slots still to explain, per frame (struct backtrack_state).
struct Bt {
  int frame = 0;
  std::array<uint16_t, kFrames> regs{};
  std::array<uint64_t, kFrames> slots{};

  bool empty() const {
    for (int f = 0; f < kFrames; ++f)
      if (regs[f] || slots[f]) return false;
    return true;
  }
  bool reg(int r) const { return regs[frame] >> r & 1; }
  void set(int r) { regs[frame] |= uint16_t(1u << r); }
  void clear(int r) { regs[frame] &= uint16_t(~(1u << r)); }
  bool slot(int fr, int spi) const { return slots[fr] >> spi & 1; }
};

// A linked-set member: frame << 8 | is_reg << 7 | regno or spi.
constexpr uint16_t kLinkedIsReg = 0x80;

bool linked_member_set(const Bt& bt, uint16_t e) {
  const int fr = e >> 8, idx = e & 0x7f;
  return (e & kLinkedIsReg) ? (bt.regs[fr] >> idx & 1) : (bt.slots[fr] >> idx & 1);
}

// bt_sync_linked_regs(): if one scalar of a set that shared an id at a jump is tracked, the
// jump's refinement reached all of them from the same comparison: track them all.
void sync_linked(const Env& env, uint32_t linked, Bt& bt) {
  if (!linked || linked >= env.linked_sets.size()) return;
  const auto& set = env.linked_sets[linked];
  bool any = false;
  for (uint16_t e : set) any |= linked_member_set(bt, e);
  if (!any) return;
  for (uint16_t e : set) {
    const int fr = e >> 8, idx = e & 0x7f;
    if (e & kLinkedIsReg)
      bt.regs[fr] |= uint16_t(1u << idx);
    else
      bt.slots[fr] |= uint64_t(1) << idx;
  }
}

bool is_pseudo_call(const struct bpf_insn& in) {
  return in.code == (BPF_JMP | BPF_CALL) && in.src_reg == BPF_PSEUDO_CALL;
}

// backtrack_insn(): what must be precise before instruction idx for bt to be precise after it.
// subseq is the instruction the path executed next. False: the walk cannot follow (fall back).
bool backtrack_insn(const Env& env, uint32_t idx, int64_t subseq, const HistEntry& h, Bt& bt) {
  const struct bpf_insn& in = env.insns[idx];
  const uint8_t cls = BPF_CLASS(in.code), op = BPF_OP(in.code), mode = BPF_MODE(in.code);
  const int dreg = in.dst_reg, sreg = in.src_reg;
  if (dreg >= kMaxBpfReg || sreg >= kMaxBpfReg) return false;
  const bool x = BPF_SRC(in.code) == BPF_X;
  const bool stack = h.stack & HistEntry::kStackAccess;
  const int sfr = (h.stack >> 6) & 7, spi = h.stack & 63;
  sync_linked(env, h.linked, bt);
  switch (cls) {
    case BPF_ALU:
    case BPF_ALU64:
      if (!bt.reg(dreg)) return true;
      if (op == BPF_MOV) {
        // dst = src (or a constant): dst's value came from src alone.
        bt.clear(dreg);
        if (x) bt.set(sreg);
      } else if (op != BPF_NEG && op != BPF_END && x) {
        bt.set(sreg);  // dst op= src: both
      }
      return true;
    case BPF_LDX:
      if (!bt.reg(dreg)) return true;
      bt.clear(dreg);
      // A fill from a stack slot continues with the slot; other memory is unknown data.
      if (stack) bt.slots[sfr] |= uint64_t(1) << spi;
      return true;
    case BPF_STX:
    case BPF_ST:
      if (cls == BPF_STX && mode == BPF_ATOMIC) {
        // Read-modify-write: not followed.
        return !(bt.reg(dreg) || bt.reg(sreg) || bt.reg(0) || (stack && bt.slot(sfr, spi)));
      }
      if (bt.reg(dreg)) return false;  // a scalar base pointer?
      if (!stack || !bt.slot(sfr, spi)) return true;
      bt.slots[sfr] &= ~(uint64_t(1) << spi);
      if (cls == BPF_STX) bt.set(sreg);  // a spill: the slot holds the register
      return true;
    case BPF_LD:
      // lddw: a constant or an address. LD_ABS/IND: r0 is packet data; r1-r5 are clobbered.
      if (mode == BPF_IMM) {
        bt.clear(dreg);
        return true;
      }
      if (bt.regs[bt.frame] & kArgRegs) return false;
      bt.clear(0);
      return true;
    case BPF_JMP:
    case BPF_JMP32:
      if (op == BPF_CALL) {
        if (in.src_reg == BPF_PSEUDO_CALL && subseq == int64_t(idx) + in.imm + 1) {
          // Back out of the callee's first instruction: its r1-r5 are the caller's.
          if (bt.frame == 0 || bt.slots[bt.frame] || (bt.regs[bt.frame] & ~kArgRegs)) return false;
          const uint16_t args = bt.regs[bt.frame];
          bt.regs[bt.frame] = 0;
          bt.frame--;
          bt.regs[bt.frame] |= args;
          return true;
        }
        if (in.src_reg != BPF_PSEUDO_CALL && env.aux[idx].calls_callback &&
            subseq != int64_t(idx) + 1) {
          // Back out of a callback the helper entered: its arguments come from the helper.
          if (bt.frame == 0 || bt.slots[bt.frame] || (bt.regs[bt.frame] & ~kArgRegs)) return false;
          bt.regs[bt.frame] = 0;
          bt.frame--;
          return true;
        }
        // A helper (or a global function): r0 is its result; r1-r5 are clobbered after it.
        bt.clear(0);
        return !(bt.regs[bt.frame] & kArgRegs);
      }
      if (op == BPF_EXIT) {
        // Back into the callee that returned: r0 is its r0 (not for callbacks, whose r0 the
        // helper consumes); the caller's r6-r9 and stack stay tracked in the caller's frame.
        if (bt.regs[bt.frame] & kArgRegs) return false;
        const bool r0 = bt.reg(0) && subseq >= 1 && subseq <= int64_t(env.insns.size()) &&
                        is_pseudo_call(env.insns[subseq - 1]);
        bt.clear(0);
        if (bt.frame + 1 >= kFrames) return false;
        bt.frame++;
        if (bt.regs[bt.frame] || bt.slots[bt.frame]) return false;
        if (r0) bt.set(0);
        return true;
      }
      if (op == BPF_JA || op == BPF_JCOND) return true;
      // dst <cond> src: the branch refined both from each other.
      if (x && (bt.reg(dreg) || bt.reg(sreg))) {
        bt.set(dreg);
        bt.set(sreg);
      }
      sync_linked(env, h.linked, bt);
      return true;
    default:
      return false;
  }
}

bool is_spilled_scalar(const StackSlot& s) {
  return s.slot_type[0] == STACK_SPILL && s.spilled_ptr.type == SCALAR_VALUE;
}

// The walk, from the end of `start`'s history (its last entry skipped when it is the instruction
// being checked) up the parent chain. Returns how many precise marks it set.
uint32_t backtrack(Env& env, VerifierState& start, Bt bt, bool skip_last) {
  uint32_t marked = 0;
  VerifierState* st = &start;
  int64_t subseq = -1;
  size_t n = st->history.size();
  if (skip_last && n) subseq = st->history[--n].idx;
  for (;;) {
    const std::vector<HistEntry>& h = st->history;
    for (size_t k = n; k-- > 0;) {
      if (h[k].idx >= env.insns.size() || !backtrack_insn(env, h[k].idx, subseq, h[k], bt)) {
        mark_all_scalars_precise(start);
        return marked;
      }
      if (bt.empty()) return marked;
      subseq = h[k].idx;
    }
    VerifierState* p = st->parent;
    if (!p) break;
    if (bt.frame != static_cast<int>(p->curframe)) {
      mark_all_scalars_precise(start);
      return marked;
    }
    for (int fr = 0; fr <= bt.frame; ++fr) {
      FuncState* f = p->frame[fr].get();
      if (!f) {
        mark_all_scalars_precise(start);
        return marked;
      }
      for (int r = 0; r < kMaxBpfReg; ++r) {
        if (!(bt.regs[fr] >> r & 1)) continue;
        RegState& reg = f->regs[r];
        if (reg.type != SCALAR_VALUE || reg.precise) {
          bt.regs[fr] &= uint16_t(~(1u << r));
        } else {
          reg.precise = true;
          ++marked;
        }
      }
      for (int s = 0; s < 64; ++s) {
        if (!(bt.slots[fr] >> s & 1)) continue;
        if (static_cast<size_t>(s) >= f->stack.size()) {
          mark_all_scalars_precise(start);
          return marked;
        }
        StackSlot& slot = f->stack[s];
        if (!is_spilled_scalar(slot) || slot.spilled_ptr.precise) {
          bt.slots[fr] &= ~(uint64_t(1) << s);
        } else {
          slot.spilled_ptr.precise = true;
          ++marked;
        }
      }
    }
    if (bt.empty()) return marked;
    subseq = p->insn_idx;
    st = p;
    n = st->history.size();
  }
  // Still tracking something at the program's entry: a walk that lost its way.
  if (!bt.empty()) mark_all_scalars_precise(start);
  return marked;
}

}  // namespace

void mark_all_scalars_precise(VerifierState& from) {
  for (VerifierState* st = from.parent; st; st = st->parent) {
    for (uint32_t i = 0; i <= st->curframe; ++i) {
      FuncState* f = st->frame[i].get();
      if (!f) continue;
      for (RegState& r : f->regs)
        if (r.type == SCALAR_VALUE) r.precise = true;
      for (StackSlot& s : f->stack)
        if (is_spilled_scalar(s)) s.spilled_ptr.precise = true;
    }
  }
}

void mark_chain_precision(Env& env, int regno) {
  if (!env.privileged() || !env.cur_state || regno < 0 || regno >= kMaxBpfReg) return;
  VerifierState& cur = *env.cur_state;
  if (cur.cur().regs[regno].type != SCALAR_VALUE) return;
  Bt bt;
  bt.frame = static_cast<int>(cur.curframe);
  bt.set(regno);
  const bool skip = !cur.history.empty() && cur.history.back().idx == env.insn_idx;
  backtrack(env, cur, bt, skip);
}

void mark_chain_precision_stack(Env& env, uint32_t frameno, int spi) {
  if (!env.privileged() || !env.cur_state || spi < 0 || spi >= 64 || frameno >= kFrames) return;
  VerifierState& cur = *env.cur_state;
  Bt bt;
  bt.frame = static_cast<int>(cur.curframe);
  bt.slots[frameno] |= uint64_t(1) << spi;
  const bool skip = !cur.history.empty() && cur.history.back().idx == env.insn_idx;
  backtrack(env, cur, bt, skip);
}

void push_insn_history(Env& env) {
  if (!env.privileged()) return;
  HistEntry e;
  e.idx = env.insn_idx;
  env.cur_state->history.push_back(e);
  if (env.aux[env.insn_idx].jmp_point) env.cur_state->jmp_history_cnt++;
}

namespace {
// An entry that gains a stack slot or a linked set counts once in the kernel's jmp history.
void count_hist_entry(Env& env, const HistEntry& e) {
  if (!e.linked && !(e.stack & HistEntry::kSpill) && !env.aux[e.idx].jmp_point)
    env.cur_state->jmp_history_cnt++;
}
}  // namespace

void note_stack_access(Env& env, uint32_t frameno, int spi, bool spill) {
  if (!env.privileged() || !env.cur_state || spi < 0 || spi >= 64 || frameno >= kFrames) return;
  auto& h = env.cur_state->history;
  if (h.empty() || h.back().idx != env.insn_idx) return;
  const uint8_t cls = BPF_CLASS(env.insns[env.insn_idx].code);
  if (cls != BPF_LDX && cls != BPF_STX && cls != BPF_ST) return;
  if (spill) count_hist_entry(env, h.back());
  h.back().stack = static_cast<uint16_t>(HistEntry::kStackAccess | (spill ? HistEntry::kSpill : 0) |
                                         frameno << 6 | spi);
}

void note_linked_regs(Env& env, const RegState& dst, const RegState* src) {
  if (!env.privileged() || !env.cur_state) return;
  auto& h = env.cur_state->history;
  if (h.empty() || h.back().idx != env.insn_idx) return;
  const uint32_t a = dst.type == SCALAR_VALUE ? dst.id & ~kAddConst : 0;
  const uint32_t b = src && src->type == SCALAR_VALUE ? src->id & ~kAddConst : 0;
  if (!a && !b) return;
  std::vector<uint16_t> set;
  const VerifierState& st = *env.cur_state;
  auto linked = [&](const RegState& r) {
    if (r.type != SCALAR_VALUE || !r.id) return false;
    const uint32_t id = r.id & ~kAddConst;
    return id == a || id == b;
  };
  for (uint32_t fr = 0; fr <= st.curframe; ++fr) {
    const FuncState& f = *st.frame[fr];
    for (int r = 0; r < kFramePointer; ++r)
      if (linked(f.regs[r])) set.push_back(static_cast<uint16_t>(fr << 8 | kLinkedIsReg | r));
    for (size_t s = 0; s < f.stack.size() && s < 64; ++s)
      if (f.stack[s].slot_type[0] == STACK_SPILL && linked(f.stack[s].spilled_ptr))
        set.push_back(static_cast<uint16_t>(fr << 8 | s));
  }
  if (set.size() < 2) return;
  if (env.linked_sets.empty()) env.linked_sets.emplace_back();  // index 0: none
  count_hist_entry(env, h.back());
  h.back().linked = static_cast<uint32_t>(env.linked_sets.size());
  env.linked_sets.push_back(std::move(set));
}

uint32_t propagate_precision(Env& env, const VerifierState& old, VerifierState& cur,
                             const uint16_t* live_regs, const uint64_t* live_slots) {
  if (!env.privileged()) return 0;
  Bt bt;
  bt.frame = static_cast<int>(cur.curframe);
  for (uint32_t fr = 0; fr <= old.curframe && fr < kFrames; ++fr) {
    const FuncState& f = *old.frame[fr];
    for (int r = 0; r < kFramePointer; ++r)
      if ((live_regs[fr] >> r & 1) && f.regs[r].type == SCALAR_VALUE && f.regs[r].precise)
        bt.regs[fr] |= uint16_t(1u << r);
    for (size_t s = 0; s < f.stack.size() && s < 64; ++s)
      if ((live_slots[fr] >> s & 1) && is_spilled_scalar(f.stack[s]) &&
          f.stack[s].spilled_ptr.precise)
        bt.slots[fr] |= uint64_t(1) << s;
  }
  if (bt.empty()) return 0;
  return backtrack(env, cur, bt, false);
}

void widen_imprecise_scalars(Env& env, const VerifierState& old, VerifierState& cur) {
  if (!env.privileged() || old.curframe != cur.curframe) return;
  auto widen = [&](const RegState& o, RegState& c) {
    if (o.type != SCALAR_VALUE || c.type != SCALAR_VALUE || o.precise || c.precise) return;
    if (o.s == c.s && o.id == c.id && o.off == c.off) return;
    const uint8_t live = c.live;
    const int32_t subreg_def = c.subreg_def;
    mark_reg_unknown(env, c);
    c.live = live;
    c.subreg_def = subreg_def;
  };
  for (uint32_t fr = 0; fr <= old.curframe; ++fr) {
    const FuncState& fo = *old.frame[fr];
    FuncState& fc = *cur.frame[fr];
    for (int r = 0; r < kMaxBpfReg; ++r) widen(fo.regs[r], fc.regs[r]);
    for (size_t s = 0; s < fo.stack.size() && s < fc.stack.size(); ++s)
      if (fo.stack[s].slot_type[0] == STACK_SPILL && fc.stack[s].slot_type[0] == STACK_SPILL)
        widen(fo.stack[s].spilled_ptr, fc.stack[s].spilled_ptr);
  }
}

}  // namespace bpfbox::verifier
