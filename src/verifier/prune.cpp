// State pruning (the kernel's is_state_visited and states_equal/regsafe/stacksafe/refsafe).
//
// Checkpoints: at prune points the current state is compared with the states already recorded
// there. A recorded state whose every path has finished safely (branches == 0) and that covers
// the current one (every value the current state allows, the old allowed) proves the current
// path safe. A recorded state still in progress that is an ancestor of the current path and equal
// to it means the program loops without progress: "infinite loop detected".
//
// Liveness and precision, as the kernel 6.18:
// - registers: static liveness (compute_live_registers), dead registers are ignored;
// - stack slots: static liveness too (stack_liveness.cpp), slots no path reads are ignored;
// - precision (precision.cpp): scalars are compared by range only where backtracking marked them
//   precise; imprecise ones match any scalar.
// Checkpoints whose marks may still grow (a descendant was pruned against a loop head being
// explored) compare every scalar by range until the loop head finishes; then what the loop head
// learnt is propagated to the pruned paths (the kernel's loop entries and backedges).
#include "verifier/prune.hpp"

#include <algorithm>
#include <array>
#include <cerrno>

#include "isa/uapi.hpp"
#include "verifier/diagnostic.hpp"
#include "verifier/precision.hpp"
#include "verifier/regs.hpp"
#include "verifier/stack_liveness.hpp"

namespace bpfbox::verifier {
namespace {

constexpr uint16_t kArgRegs = 0x3e;      // r1..r5
constexpr uint16_t kCallerSaved = 0x3f;  // r0..r5

// Per instruction: registers it reads (use) and writes (def), and whether it falls through.
struct InsnFlow {
  uint16_t use = 0, def = 0;
  int64_t jump = -1;  // jump target, or -1
  bool falls = true;  // continues at the next instruction
  uint32_t next = 1;  // slots to the next instruction
};

InsnFlow insn_flow(const struct bpf_insn* insns, uint32_t i) {
  const struct bpf_insn& in = insns[i];
  InsnFlow f;
  const uint8_t cls = BPF_CLASS(in.code);
  const uint16_t dst = uint16_t(1) << in.dst_reg, src = uint16_t(1) << in.src_reg;
  const bool x = BPF_SRC(in.code) == BPF_X;
  switch (cls) {
    case BPF_ALU:
    case BPF_ALU64: {
      const uint8_t op = BPF_OP(in.code);
      if (op == BPF_MOV) {
        f.use = x ? src : 0;
      } else if (op == BPF_NEG || op == BPF_END) {
        f.use = dst;
      } else {
        f.use = dst | (x ? src : 0);
      }
      f.def = dst;
      break;
    }
    case BPF_LDX:
      f.use = src;
      f.def = dst;
      break;
    case BPF_ST:
      f.use = dst;
      break;
    case BPF_STX:
      f.use = dst | src;
      if (BPF_MODE(in.code) == BPF_ATOMIC) {
        if (in.imm == BPF_LOAD_ACQ) {
          f.use = src;
          f.def = dst;
        } else if (in.imm == BPF_CMPXCHG) {
          f.use |= 1;
          f.def = 1;
        } else if (in.imm & BPF_FETCH) {
          f.def = src;
        }
      }
      break;
    case BPF_LD:
      if (BPF_MODE(in.code) == BPF_IMM) {
        f.def = dst;
        f.next = 2;
      } else {
        f.use = uint16_t(1) << 6 | (BPF_MODE(in.code) == BPF_IND ? src : 0);
        f.def = kCallerSaved;
      }
      break;
    case BPF_JMP:
    case BPF_JMP32: {
      const uint8_t op = BPF_OP(in.code);
      if (op == BPF_CALL) {
        f.use = kArgRegs;
        f.def = kCallerSaved;
      } else if (op == BPF_EXIT) {
        f.use = 1;
        f.falls = false;
      } else if (op == BPF_JA) {
        f.jump = int64_t(i) + (cls == BPF_JMP ? in.off : in.imm) + 1;
        f.falls = false;
      } else if (op == BPF_JCOND) {
        f.jump = int64_t(i) + in.off + 1;
      } else {
        f.use = dst | (x ? src : 0);
        f.jump = int64_t(i) + in.off + 1;
      }
      break;
    }
  }
  return f;
}

// compute_live_registers(): backward data flow to a fixed point.
void compute_live_registers(Env& env) {
  const uint32_t n = static_cast<uint32_t>(env.insns.size());
  std::vector<InsnFlow> flow(n);
  for (uint32_t i = 0; i < n; ++i) {
    flow[i] = insn_flow(env.insns.data(), i);
    // A helper reads only its arguments (the kernel's get_call_summary: r1..r<num_params>).
    const struct bpf_insn& in = env.insns[i];
    if (in.code == (BPF_JMP | BPF_CALL) && in.src_reg == 0 && env.ops && env.ops->get_func_proto) {
      if (const HelperProto* fn =
              env.ops->get_func_proto(static_cast<uint32_t>(in.imm), env.opts.load)) {
        int params = 0;
        while (params < 5 && fn->arg_type[params] != ARG_DONTCARE) ++params;
        flow[i].use = static_cast<uint16_t>(((1u << (params + 1)) - 1) & ~1u);
      }
    }
  }
  env.live_regs_before.assign(n, 0);
  bool changed = true;
  while (changed) {
    changed = false;
    for (uint32_t k = n; k-- > 0;) {
      const InsnFlow& f = flow[k];
      uint16_t out = 0;
      if (f.falls && k + f.next < n) out |= env.live_regs_before[k + f.next];
      if (f.jump >= 0 && f.jump < n) out |= env.live_regs_before[f.jump];
      const uint16_t in = f.use | (out & ~f.def);
      if (in != env.live_regs_before[k]) {
        env.live_regs_before[k] = in;
        changed = true;
      }
    }
  }
}

// The old/current id correspondence of one comparison (struct bpf_idmap).
struct IdMap {
  std::vector<std::pair<uint32_t, uint32_t>> map;
  uint32_t tmp_id_gen = 0;
  // Unprivileged loads compare every scalar (precision tracking is a privileged optimisation;
  // their constants are not marked precise one by one).
  bool all_precise = false;

  bool check(uint32_t old_id, uint32_t cur_id) {
    if (!!old_id != !!cur_id) return false;
    if (!old_id) return true;
    for (auto& [o, c] : map) {
      if (o == old_id) return c == cur_id;
      if (c == cur_id) return false;
    }
    map.emplace_back(old_id, cur_id);
    return true;
  }
  // Scalars without an id are each their own.
  // An old scalar with no id relied on no link: any cur matches (6.18.y). A cur with none still
  // gets a fresh id, so two linked old scalars cannot map onto two independent cur ones.
  bool check_scalar(uint32_t old_id, uint32_t cur_id) {
    if (!old_id) return true;
    if (!cur_id) cur_id = ++tmp_id_gen;
    return check(old_id, cur_id);
  }
};

// NOT_EXACT, RANGE_WITHIN (every scalar by range, precise or not), EXACT.
enum class Exact { No, RangeWithin, Yes };

// Everything but the liveness bookkeeping, ids compared through the map.
bool regs_exact(const RegState& a, const RegState& b, IdMap& ids) {
  return a.type == b.type && a.off == b.off && a.map_ptr == b.map_ptr && a.map_uid == b.map_uid &&
         a.range == b.range && a.mem_size == b.mem_size && a.subprogno == b.subprogno &&
         a.s == b.s && a.frameno == b.frameno && ids.check(a.id, b.id) &&
         ids.check(a.ref_obj_id, b.ref_obj_id);
}

bool regsafe(const RegState& old, const RegState& cur, IdMap& ids, Exact exact) {
  if (exact == Exact::Yes) return regs_exact(old, cur, ids);
  if (old.type == NOT_INIT && (exact == Exact::No || cur.type == NOT_INIT)) return true;
  if (cur.type == NOT_INIT) return false;
  if (old.type != cur.type) return false;
  switch (base_type(old.type)) {
    case SCALAR_VALUE:
      if (!old.precise && !ids.all_precise && exact == Exact::No) return true;
      // Links: an old scalar with an id needs the same kind of link (none, 64- or 32-bit delta)
      // with the same delta in cur, and its id mapped consistently.
      if (old.id && (old.id & kAddConst) != (cur.id & kAddConst)) return false;
      if ((old.id & kAddConst) && old.off != cur.off) return false;
      return ids.check_scalar(old.id & ~kAddConst, cur.id & ~kAddConst) && cur.s.within(old.s);
    case PTR_TO_MAP_KEY:
    case PTR_TO_MAP_VALUE:
    case PTR_TO_MEM:
    case PTR_TO_BUF:
    case PTR_TO_TP_BUFFER:
      return old.off == cur.off && old.map_ptr == cur.map_ptr && old.map_uid == cur.map_uid &&
             old.mem_size == cur.mem_size && cur.s.within(old.s) && ids.check(old.id, cur.id) &&
             ids.check(old.ref_obj_id, cur.ref_obj_id);
    case PTR_TO_PACKET_META:
    case PTR_TO_PACKET:
      if (cur.range < old.range) return false;
      if (old.range < 0 && cur.range != old.range) return false;
      if (old.off != cur.off) return false;
      if (!ids.check(old.id, cur.id)) return false;
      return cur.s.within(old.s);
    case PTR_TO_STACK:
      return regs_exact(old, cur, ids) && old.frameno == cur.frameno;
    default:
      return regs_exact(old, cur, ids);
  }
}

bool is_spilled(const StackSlot& s) {
  return s.slot_type[0] == STACK_SPILL;
}

// scalar_reg_for_stack(): a spilled scalar, or all-unknown bytes read as an unbounded scalar.
const RegState* scalar_reg_for_stack(const Env& env, const StackSlot& s) {
  static const RegState kUnbound = [] {
    RegState r;
    r.type = SCALAR_VALUE;
    return r;
  }();
  if (is_spilled(s) && s.spilled_ptr.type == SCALAR_VALUE) return &s.spilled_ptr;
  for (uint8_t t : s.slot_type)
    if (!(t == STACK_MISC || (t == STACK_INVALID && env.privileged()))) return nullptr;
  return &kUnbound;
}

bool stacksafe(const Env& env, const FuncState& old, const FuncState& cur, IdMap& ids, Exact exact,
               uint64_t live) {
  for (size_t spi = 0; spi < old.stack.size(); ++spi) {
    const StackSlot& os = old.stack[spi];
    const StackSlot* cs = spi < cur.stack.size() ? &cur.stack[spi] : nullptr;
    // A slot no path reads from here on need not match.
    if (exact != Exact::Yes && spi < 64 && !(live >> spi & 1)) continue;
    if (exact == Exact::Yes) {
      if (!cs || os.slot_type != cs->slot_type) return false;
      if (is_spilled(os) && !regs_exact(os.spilled_ptr, cs->spilled_ptr, ids)) return false;
      continue;
    }
    bool slot_done = false;
    for (int i = 0; i < kRegSize && !slot_done; ++i) {
      const uint8_t ot = os.slot_type[i];
      if (ot == STACK_INVALID) continue;
      if (env.privileged() && ot == STACK_MISC) continue;
      if (!cs) return false;
      const RegState* orr = scalar_reg_for_stack(env, os);
      const RegState* crr = scalar_reg_for_stack(env, *cs);
      if (orr && crr) {
        if (!regsafe(*orr, *crr, ids, exact)) return false;
        slot_done = true;
        continue;
      }
      const uint8_t ct = cs->slot_type[i];
      if (ot == STACK_MISC && ct == STACK_ZERO) continue;
      if (ot != ct) return false;
      if (ot == STACK_SPILL && i == 0 && !regsafe(os.spilled_ptr, cs->spilled_ptr, ids, exact))
        return false;
    }
  }
  return true;
}

bool refsafe(const VerifierState& old, const VerifierState& cur, IdMap& ids) {
  if (old.refs.size() != cur.refs.size()) return false;
  for (size_t i = 0; i < old.refs.size(); ++i) {
    if (old.refs[i].kind != cur.refs[i].kind || old.refs[i].ptr != cur.refs[i].ptr) return false;
    if (!ids.check(old.refs[i].id, cur.refs[i].id)) return false;
  }
  if (!!old.active_lock_id != !!cur.active_lock_id) return false;
  if (old.active_lock_ptr != cur.active_lock_ptr) return false;
  return !old.active_lock_id || ids.check(old.active_lock_id, cur.active_lock_id);
}

// Where frame `fr` of a state continues: the state's instruction for the current frame; for a
// caller, the instruction after the call, or the callback-calling helper itself (it runs again
// when its callback returns).
uint32_t frame_pos(const VerifierState& st, uint32_t fr) {
  if (fr == st.curframe) return st.insn_idx;
  const FuncState& callee = *st.frame[fr + 1];
  return callee.in_callback_fn ? callee.callsite : callee.callsite + 1;
}

// The registers of frame `fr` that matter at the state's position.
uint16_t live_regs(const Env& env, const VerifierState& st, uint32_t fr) {
  const uint32_t at = frame_pos(st, fr);
  return at < env.live_regs_before.size() ? env.live_regs_before[at] : 0xffff;
}

// The stack slots of frame `fr` that matter at the state's position.
uint64_t live_slots(const Env& env, const VerifierState& st, uint32_t fr) {
  const uint32_t at = frame_pos(st, fr);
  return at < env.live_slots_before.size() ? env.live_slots_before[at] : ~uint64_t(0);
}

// The live registers and stack slots of every frame at the state's position.
struct LiveMasks {
  std::array<uint16_t, 8> regs{};
  std::array<uint64_t, 8> slots{};
};
LiveMasks live_masks(const Env& env, const VerifierState& st) {
  LiveMasks m;
  for (uint32_t fr = 0; fr <= st.curframe && fr < 8; ++fr) {
    m.regs[fr] = live_regs(env, st, fr);
    m.slots[fr] = live_slots(env, st, fr);
  }
  return m;
}

bool states_equal(const Env& env, const VerifierState& old, const VerifierState& cur, Exact exact) {
  if (old.curframe != cur.curframe) return false;
  if (old.speculative && !cur.speculative) return false;
  IdMap ids;
  ids.tmp_id_gen = env.id_gen;
  ids.all_precise = !env.privileged();
  if (!refsafe(old, cur, ids)) return false;
  for (uint32_t fr = 0; fr <= old.curframe; ++fr) {
    const FuncState& o = *old.frame[fr];
    const FuncState& c = *cur.frame[fr];
    if (o.callsite != c.callsite) return false;
    const uint16_t live = live_regs(env, cur, fr);
    for (int r = 0; r < kMaxBpfReg; ++r)
      if ((live & (1u << r)) && !regsafe(o.regs[r], c.regs[r], ids, exact)) return false;
    if (!stacksafe(env, o, c, ids, exact, live_slots(env, cur, fr))) return false;
  }
  return true;
}

// states_maybe_looping(): the current frame's registers are bit-identical.
bool states_maybe_looping(const VerifierState& old, const VerifierState& cur) {
  if (old.curframe != cur.curframe) return false;
  const FuncState& o = old.cur();
  const FuncState& c = cur.cur();
  for (int r = 0; r < kMaxBpfReg; ++r) {
    const RegState& a = o.regs[r];
    const RegState& b = c.regs[r];
    if (a.type != b.type || a.off != b.off || !(a.s == b.s) || a.id != b.id ||
        a.map_ptr != b.map_ptr || a.range != b.range)
      return false;
  }
  return true;
}

bool is_ancestor(const VerifierState* anc, const VerifierState* st) {
  for (const VerifierState* p = st->parent; p; p = p->parent)
    if (p == anc) return true;
  return false;
}

bool is_may_goto_insn(const Env& env, uint32_t idx) {
  return env.insns[idx].code == (BPF_JMP | BPF_JCOND) && env.insns[idx].src_reg == BPF_MAY_GOTO;
}

// Loop heads still being explored below which this checkpoint sits: its precision marks may grow.
bool marks_incomplete(VerifierState& st) {
  auto& v = st.loop_entries;
  v.erase(std::remove_if(v.begin(), v.end(), [](const VerifierState* h) { return !h->branches; }),
          v.end());
  return !v.empty();
}

// Every checkpoint the pruned path passed through since `head` depends on what head learns.
void mark_loop_chain(VerifierState& cur, VerifierState* head) {
  head->loop_head = true;
  for (VerifierState* s = cur.parent; s && s != head; s = s->parent) {
    if (std::find(s->loop_entries.begin(), s->loop_entries.end(), head) != s->loop_entries.end())
      break;
    s->loop_entries.push_back(head);
  }
}

uint32_t propagate(Env& env, const VerifierState& old, VerifierState& cur) {
  const LiveMasks m = live_masks(env, cur);
  return propagate_precision(env, old, cur, m.regs.data(), m.slots.data());
}

// update_peak_states(): the states alive at once, as the kernel counts them (checkpoints in the
// search, evicted ones still referenced, saved backedges).
void update_peak_states(Env& env) {
  const uint32_t alive =
      env.explored_states_size + env.free_list_size + static_cast<uint32_t>(env.backedges.size());
  env.peak_states = std::max(env.peak_states, alive);
}

// A path pruned against old: what old's safety relied on must hold where the path came from; if
// old's marks may still grow, the path waits for them (a backedge).
void on_hit(Env& env, VerifierState& old, VerifierState& cur) {
  old.hit_cnt++;
  propagate(env, old, cur);
  std::vector<VerifierState*> heads;
  if (old.branches) heads.push_back(&old);
  if (marks_incomplete(old))
    heads.insert(heads.end(), old.loop_entries.begin(), old.loop_entries.end());
  if (heads.empty()) return;
  for (VerifierState* h : heads) mark_loop_chain(cur, h);
  auto saved = cur.clone();
  saved->parent = cur.parent;
  env.backedges.push_back({&old, std::move(saved)});
  update_peak_states(env);
}

// A loop head finished: propagate over the backedges until nothing changes, then forget those
// whose checkpoint's marks are final.
void propagate_backedges(Env& env) {
  for (;;) {
    uint32_t changed = 0;
    for (auto& be : env.backedges) changed += propagate(env, *be.old, *be.cur);
    if (!changed) break;
  }
  std::erase_if(env.backedges,
                [](Env::Backedge& be) { return !be.old->branches && !marks_incomplete(*be.old); });
}

}  // namespace

Result<int> is_state_visited(Env& env, uint32_t insn_idx) {
  if (env.live_regs_before.size() != env.insns.size()) compute_live_registers(env);
  if (env.live_slots_before.size() != env.insns.size()) compute_live_stack(env);
  VerifierState& cur = *env.cur_state;
  const bool force_checkpoint = env.aux[insn_idx].force_checkpoint;
  // A checkpoint also cuts a long path history (every backtracking walks it), as the kernel.
  const bool force = force_checkpoint || cur.jmp_history_cnt > 40;
  // As the kernel, a new checkpoint only after 2 jumps and 8 instructions (or where forced).
  bool add_new_state = force || (env.jmps_processed - env.prev_jmps_processed >= 2 &&
                                 env.insn_processed - env.prev_insn_processed >= 8);
  auto& list = env.explored[insn_idx];
  uint32_t states_cnt = 0;
  // Newest first, as the kernel's list (new states go to its head): the checkpoints of the loop
  // being explored come before the older, finished ones, and decide add_new_state before those
  // are charged a miss.
  for (size_t i = list.size(); i-- > 0;) {
    VerifierState& old = *list[i];
    ++states_cnt;
    if (old.branches) {
      // Still being explored: not proven safe. may_goto bounds its own loops by depth.
      if (is_may_goto_insn(env, insn_idx) && old.may_goto_depth != cur.may_goto_depth &&
          states_equal(env, old, cur, Exact::RangeWithin)) {
        on_hit(env, old, cur);
        return 1;
      }
      // A callback's helper call (bpf_loop, for_each) is re-checked after each iteration: a
      // state it already covers converged, and an equal one is no infinite loop (the kernel's
      // calls_callback() case).
      if (env.aux[insn_idx].calls_callback) {
        if (states_equal(env, old, cur, Exact::RangeWithin)) {
          on_hit(env, old, cur);
          return 1;
        }
      } else if (states_maybe_looping(old, cur) && is_ancestor(&old, &cur) &&
                 states_equal(env, old, cur, Exact::Yes)) {
        env.verbose("infinite loop detected at insn %d\n", insn_idx);
        explain(env, Rule::InfiniteLoop).at(insn_idx);
        return Status(EINVAL, "infinite loop detected");
      }
      // Inside a loop each iteration's state differs and rarely prunes: as the kernel, record
      // one only every 20 jumps or 100 instructions; with no new state, no checkpoint is
      // charged a miss, so the iterations do not evict the states that prune.
      if (!force && env.jmps_processed - env.prev_jmps_processed < 20 &&
          env.insn_processed - env.prev_insn_processed < 100)
        add_new_state = false;
    } else if (states_equal(env, old, cur,
                            marks_incomplete(old) ? Exact::RangeWithin : Exact::No)) {
      on_hit(env, old, cur);
      return 1;
    }
    // A miss. As the kernel, a checkpoint that keeps missing leaves the search (it stays alive
    // while paths descend from it); loop heads get more chances.
    if (add_new_state) old.miss_cnt++;
    const uint32_t n = force_checkpoint && old.branches ? 64 : 3;
    if (old.miss_cnt > old.hit_cnt * n + n) {
      env.explored_states_size--;
      if (old.branches) {
        old.in_free_list = true;
        env.free_list_size++;
      }
      env.evicted_states.push_back(std::move(list[i]));
      list.erase(list.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }
  env.max_states_per_insn = std::max(env.max_states_per_insn, states_cnt);
  if (!add_new_state) return 0;
  // The new checkpoint takes the path's history; the current state starts a new one here.
  std::vector<HistEntry> hist = std::move(cur.history);
  cur.history.clear();
  cur.jmp_history_cnt = 0;
  auto snap = cur.clone();
  snap->history = std::move(hist);
  snap->insn_idx = insn_idx;
  snap->last_insn_idx = env.prev_insn_idx;
  snap->parent = cur.parent;
  snap->branches = 1;
  snap->loop_entries.clear();
  snap->loop_head = false;
  cur.parent = snap.get();
  cur.first_insn_idx = insn_idx;
  cur.dfs_depth = snap->dfs_depth + 1;
  list.push_back(std::move(snap));
  env.total_states++;
  env.explored_states_size++;
  update_peak_states(env);
  env.prev_insn_processed = env.insn_processed;
  env.prev_jmps_processed = env.jmps_processed;
  return 0;
}

void finish_path(Env& env) {
  bool head_done = false;
  for (VerifierState* st = env.cur_state ? env.cur_state->parent : nullptr; st; st = st->parent) {
    if (--st->branches) break;
    head_done |= st->loop_head;
    if (st->in_free_list) {
      st->in_free_list = false;
      env.free_list_size--;
    }
  }
  if (head_done && !env.backedges.empty()) {
    propagate_backedges(env);
    update_peak_states(env);
  }
}

VerifierState* find_prev_entry(Env& env, const VerifierState& cur, uint32_t insn_idx) {
  auto it = env.explored.find(insn_idx);
  if (it == env.explored.end()) return nullptr;
  auto& list = it->second;
  for (size_t i = list.size(); i-- > 0;) {
    VerifierState& st = *list[i];
    if (st.insn_idx != insn_idx || !st.branches || st.dfs_depth >= cur.dfs_depth ||
        st.curframe != cur.curframe)
      continue;
    bool same = true;
    for (uint32_t fr = 0; fr <= st.curframe && same; ++fr)
      same = st.frame[fr]->callsite == cur.frame[fr]->callsite;
    if (same) return &st;
  }
  return nullptr;
}

void reset_pruning(Env& env) {
  env.explored.clear();
  env.evicted_states.clear();
  env.explored_states_size = env.free_list_size = 0;
  env.backedges.clear();
  env.linked_sets.clear();
  env.live_regs_before.clear();
  env.live_slots_before.clear();
}

}  // namespace bpfbox::verifier
