// The verifier's abstract state, as the kernel's (include/linux/bpf_verifier.h): a register state
// per register, a stack of 8-byte slots per frame, up to eight frames per path, and the
// per-instruction facts the rewrite needs. Every verifier file works on these structures.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include <linux/bpf.h>

#include "bpfbox/helper_proto.hpp"
#include "bpfbox/insn_facts.hpp"
#include "bpfbox/maps.hpp"
#include "verifier/scalar.hpp"

namespace bpfbox::verifier {

constexpr int kMaxBpfReg = 11;  // r0..r10 (MAX_BPF_REG)
constexpr int kFramePointer = 10;
constexpr int kRegSize = 8;
constexpr int kMaxStackSlots = 512 / kRegSize;
// A scalar id's "plus off" flags (BPF_ADD_CONST64: rX += c, BPF_ADD_CONST32: wX += c; 6.18.y).
constexpr uint32_t kAddConst64 = 1u << 31;
constexpr uint32_t kAddConst32 = 1u << 30;
constexpr uint32_t kAddConst = kAddConst64 | kAddConst32;

// Liveness marks (enum bpf_reg_liveness), for pruning: a register a later instruction reads
// matters when comparing states; one that is only overwritten does not.
enum RegLiveness : uint8_t {
  REG_LIVE_NONE = 0,
  REG_LIVE_READ32 = 1,
  REG_LIVE_READ64 = 2,
  REG_LIVE_READ = REG_LIVE_READ32 | REG_LIVE_READ64,
  REG_LIVE_WRITTEN = 4,
  REG_LIVE_DONE = 8,
};

// struct bpf_reg_state.
struct RegState {
  uint32_t type = NOT_INIT;  // RegType | flags (PTR_MAYBE_NULL, MEM_RDONLY, MEM_RINGBUF, ...)
  int32_t off = 0;           // the fixed part of a pointer's offset
  // Per-type facts (the kernel's union).
  const maps::Map* map_ptr = nullptr;  // CONST_PTR_TO_MAP, PTR_TO_MAP_VALUE, PTR_TO_MAP_KEY
  uint32_t map_uid = 0;                // distinguishes inner maps of the same template
  int32_t range = 0;       // PTR_TO_PACKET*: bytes past off known to be inside the packet
  uint32_t mem_size = 0;   // PTR_TO_MEM: its size
  uint32_t subprogno = 0;  // PTR_TO_FUNC: the callback's subprogram
  // The variable part of a pointer's offset, or a scalar's value.
  Scalar s;
  // Registers holding the same value (scalars) or the same maybe-null pointer share an id, so a
  // bound or a null check learnt on one applies to all (find_equal_scalars, mark_ptr_or_null).
  // A scalar whose id has kAddConst holds its linked value plus `off` (the kernel's
  // BPF_ADD_CONST: r1 = r0; r1 += 4).
  uint32_t id = 0;
  uint32_t ref_obj_id = 0;  // the acquired reference this pointer is (ringbuf reservations)
  uint32_t frameno = 0;     // PTR_TO_STACK: the frame whose stack it points into
  int32_t subreg_def = 0;   // the insn that last wrote the low 32 bits (zext insertion)
  uint8_t live = REG_LIVE_NONE;
  bool precise = false;  // its exact value matters for pruning (precision tracking)

  uint32_t base() const { return base_type(type); }
  bool maybe_null() const { return type & PTR_MAYBE_NULL; }
  bool is_scalar() const { return type == SCALAR_VALUE; }
  bool is_pointer() const { return type != NOT_INIT && type != SCALAR_VALUE; }
  bool is_pkt_pointer() const { return base() == PTR_TO_PACKET || base() == PTR_TO_PACKET_META; }
};

// What each byte of a stack slot holds (enum bpf_stack_slot_type).
enum SlotType : uint8_t {
  STACK_INVALID = 0,  // never written: reading it is refused
  STACK_SPILL,        // part of a register spilled with an 8-byte (or narrower) store
  STACK_MISC,         // written with something the verifier does not track
  STACK_ZERO,         // known zero
  STACK_DYNPTR,
  STACK_ITER,
  STACK_IRQ_FLAG,
};

// struct bpf_stack_state: one 8-byte slot.
struct StackSlot {
  RegState spilled_ptr;  // the register spilled here (valid when slot_type[0] == STACK_SPILL)
  std::array<uint8_t, kRegSize> slot_type{};  // per byte, slot_type[0] is the lowest address
};

// An acquired reference (struct bpf_reference_state): a ringbuf reservation or a spin lock held.
struct RefState {
  enum Kind : uint8_t { Ptr, Lock } kind = Ptr;
  uint32_t id = 0;
  uint32_t insn_idx = 0;      // where it was acquired (the leak message names it)
  const void* ptr = nullptr;  // the map for locks
};

// struct bpf_func_state: one frame.
struct FuncState {
  std::array<RegState, kMaxBpfReg> regs{};
  uint32_t callsite = 0;  // the call instruction of this frame (-1 for the main frame: 0 here)
  uint32_t frameno = 0;
  uint32_t subprogno = 0;
  // Callbacks (bpf_loop, bpf_for_each_map_elem): the range r0 must be in at their exit.
  bool in_callback_fn = false;
  int64_t callback_ret_min = 0, callback_ret_max = 0;
  // How many times this frame's current callback-calling helper scheduled its callback
  // (bpf_loop stops exploring new iterations at its count's bound).
  uint32_t callback_depth = 0;
  // stack[i] covers bytes [-(i+1)*8, -i*8) below the frame pointer. Grows on first write.
  std::vector<StackSlot> stack;
  uint32_t allocated_stack() const { return static_cast<uint32_t>(stack.size()) * kRegSize; }
};

// One executed instruction of a path, for precision backtracking (struct bpf_insn_hist_entry).
struct HistEntry {
  uint32_t idx = 0;
  // The stack slot a fixed-offset load/store used: kStackAccess | [kSpill] | frameno << 6 | spi.
  uint16_t stack = 0;
  // Scalars sharing an id at a conditional jump (an index into Env::linked_sets, 0: none).
  uint32_t linked = 0;
  static constexpr uint16_t kStackAccess = 0x8000;
  static constexpr uint16_t kSpill = 0x4000;  // a register spill or fill
};

// struct bpf_verifier_state: one path's state, at one instruction.
struct VerifierState {
  std::array<std::unique_ptr<FuncState>, 8> frame;
  uint32_t curframe = 0;
  std::vector<RefState> refs;   // acquired references, shared by all frames as in 6.18
  uint32_t active_lock_id = 0;  // a bpf_spin_lock held (its RefState id), 0 when none
  const void* active_lock_ptr = nullptr;
  bool speculative = false;
  uint32_t insn_idx = 0;
  uint32_t may_goto_depth = 0;
  uint32_t callback_unroll_depth = 0;
  // Liveness and precision propagate to the state this one came from.
  VerifierState* parent = nullptr;
  uint32_t branches = 0;  // paths still being explored from this state
  // As a pruning checkpoint: how often it covered / failed to cover a state reaching its
  // instruction (a checkpoint that keeps missing is dropped from the search).
  uint32_t hit_cnt = 0, miss_cnt = 0;
  bool in_free_list = false;  // evicted from the search while paths still descend from it
  // Precision backtracking (precision.cpp): the instructions this path executed since the
  // checkpoint it descends from (its parent), in order: first_insn_idx is the first, and for a
  // checkpoint, last_insn_idx the one that led to it. Each step records the stack slot a load or
  // store used and the scalars a conditional jump linked (the kernel's insn_hist).
  std::vector<HistEntry> history;
  // Entries of `history` the kernel's jmp_history would hold (jump targets, stack accesses,
  // linked scalars): past 40, the next prune point takes a checkpoint.
  uint32_t jmp_history_cnt = 0;
  uint32_t first_insn_idx = 0, last_insn_idx = 0;
  uint32_t dfs_depth = 0;  // checkpoints between this state and the entry
  // Loop heads (in-progress checkpoints some descendant was pruned against) whose exploration
  // may still add precision marks here: until they finish, this checkpoint is compared on every
  // scalar (the kernel's loop_entry / SCC bookkeeping).
  std::vector<VerifierState*> loop_entries;
  bool loop_head = false;  // some path was pruned against it while it was being explored

  FuncState& cur() { return *frame[curframe]; }
  const FuncState& cur() const { return *frame[curframe]; }
  std::unique_ptr<VerifierState> clone() const;
};

// Every register of every frame, and every spilled register (bpf_for_each_reg_in_vstate).
template <class F>
void for_each_reg(VerifierState& st, F&& f) {
  for (uint32_t i = 0; i <= st.curframe; ++i) {
    FuncState& fr = *st.frame[i];
    for (auto& r : fr.regs) f(r);
    for (auto& slot : fr.stack)
      if (slot.slot_type[0] == STACK_SPILL) f(slot.spilled_ptr);
  }
}

// Per-instruction facts (struct bpf_insn_aux_data), kept across all paths.
struct InsnAux {
  // The pointer type a memory access used on every path reaching it (ctx accesses are rewritten,
  // so all paths must agree: "same insn cannot be used with different pointers").
  uint32_t ptr_type = NOT_INIT;
  // For helper calls taking a map: the map on every path (array lookups are inlined only then),
  // and whether the key was the same constant on every path.
  const maps::Map* map_ptr = nullptr;
  bool map_ptr_poisoned = false;
  bool map_key_const = false;
  bool map_key_poisoned = false;  // paths disagreed on the key (or one had no constant key)
  uint64_t map_key = 0;
  // BPF_PSEUDO_MAP_VALUE / BPF_PSEUDO_MAP_IDX_VALUE lddw: the offset into the value (the second
  // slot's imm as loaded), set by resolve_pseudo_ldimm64 with map_ptr; the core gives the
  // register PTR_TO_MAP_VALUE with this off.
  uint32_t map_off = 0;
  // Context accesses: the size of the field accessed (CtxAccessInfo::ctx_field_size, as the
  // kernel's insn_aux_data.ctx_field_size); the rewrite widens a narrower load to it, then
  // shifts/masks. 0 when is_valid_access gave none.
  uint32_t ctx_field_size = 0;
  // The verifier proved a 32-bit subregister write needs an explicit zero-extension.
  bool zext_dst = false;
  bool seen = false;         // reached on some path (else dead code, removed by the rewrite)
  bool prune_point = false;  // states are checkpointed here
  bool jmp_point = false;
  bool force_checkpoint = false;
  bool calls_callback = false;
  // bpf_loop call sites (struct bpf_loop_inline_state): inlined when every path passed the same
  // callback subprogram with flags known to be 0.
  struct {
    bool initialized = false, fit = false;
    uint32_t callback = 0;
  } loop_inline;
  uint32_t call_imm = 0;  // helper id / subprog of calls, after resolution
  uint32_t orig_idx = 0;  // index in the program as loaded
  // Spectre v1/v4 (unprivileged, verifier/sanitize.hpp): how the pointer arithmetic here is
  // masked (BPF_ALU_* bits and the largest offset allowed), a speculation barrier before the
  // instruction (nospec) or after it (nospec_result, a stack write that may be bypassed).
  uint32_t alu_state = 0;
  uint32_t alu_limit = 0;
  bool nospec = false;
  bool nospec_result = false;
  // Loads, stores and atomics: the region of the base register joined over every path, for the
  // engines (insn_facts.cpp); the class and base register it was recorded for, so a rewrite that
  // changed the access drops it.
  struct MemRecord {
    bool seen = false;
    uint8_t code = 0, base_reg = 0;
    vm::InsnFacts facts;
  } mem;
  // Options::range_facts: the operands' ranges joined over every path (insn_facts.cpp), with the
  // instruction they were recorded for, so a rewrite that changed it drops them. Bits kDst/kSrc:
  // recorded on some path (seen), not a scalar on some path (poisoned).
  struct RangeRecord {
    static constexpr uint8_t kDst = 1, kSrc = 2;
    uint8_t seen = 0, poisoned = 0;
    uint8_t code = 0, dst_reg = 0, src_reg = 0;
    vm::ScalarRange dst, src;
  } range;
};

// struct bpf_subprog_info.
struct SubprogInfo {
  uint32_t start = 0;
  uint32_t stack_depth = 0;
  bool has_tail_call = false;
  bool tail_call_reachable = false;
  bool has_ld_abs = false;
  bool is_cb = false;  // used as a callback
  bool is_async_cb = false;
  bool changes_pkt_data = false;
  bool is_global = false;  // global functions (BTF func_info linkage) are verified alone
};

}  // namespace bpfbox::verifier
