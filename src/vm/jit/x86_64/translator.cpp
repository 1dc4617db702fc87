#include "vm/jit/x86_64/translator.hpp"

#include <sys/random.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>

#include "isa/uapi.hpp"
#include "vm/executable_form.hpp"
#include "vm/jit/x86_64/assembler.hpp"
#include "vm/jit/x86_64/runtime.hpp"

namespace bpfbox::vm::jit::x86_64 {
namespace {

using isa::Kind;
using isa::Op;

// BPF registers live in x86 registers as in the kernel's JIT: r1..r5 already sit where the SysV ABI
// passes arguments, r6..r9 in callee-saved registers, r10 in rbp.
// r0..r10, then AX (r11, the verifier's masking scratch): R9, which only calls, divisions and
// checked memory accesses borrow, none of which sits inside a masking sequence.
constexpr Reg kMap[12] = {RAX, RDI, RSI, RDX, RCX, R8, RBX, R13, R14, R15, RBP, R9};
constexpr Reg kRc = R12;  // the RunContext*, callee-saved so helpers keep it
// r9, r10 and r11 are scratch: never BPF registers, clobbered by every call.

constexpr int32_t kFrameBytes = isa::kStackSize;
constexpr int32_t kStackBytes = isa::kStackSize * isa::kMaxCallFrames;
// Below the BPF stack, each frame keeps two words: [rsp] (a return address, or padding in the
// main frame) and [rsp+8], the frame's may_goto counter.
constexpr int32_t kHeader = 16;

constexpr int32_t kOffStackBase = offsetof(RunContext, stack_base);
constexpr int32_t kOffStackSize = offsetof(RunContext, stack_size);
constexpr int32_t kOffChecked = offsetof(RunContext, checked);
constexpr int32_t kOffCpu = offsetof(RunContext, cpu);
constexpr int32_t kOffFault = offsetof(RunContext, fault);
constexpr int32_t kOffFaultKind = offsetof(RunContext, fault) + offsetof(Fault, kind);
constexpr int32_t kOffInsns = offsetof(RunContext, insns_executed);
constexpr int32_t kOffPktData = offsetof(RunContext, pkt_data);
constexpr int32_t kOffPktLen = offsetof(RunContext, pkt_len);
constexpr int32_t kOffTailCallCtx = offsetof(RunContext, tail_call_ctx);
constexpr int32_t kOffTailCallCnt = offsetof(RunContext, tail_call_cnt);
constexpr int32_t kOffCallFunction = offsetof(RunContext, call_function);
constexpr int32_t kOffEngineState = offsetof(RunContext, engine_state);

// Programs a helper may call back into (RunContext::call_function) keep a record just above the
// top of the BPF stack in the main frame; rc->engine_state points at it while the program runs.
constexpr int32_t kRecCallRbp = 0;    // r10 at the current helper call
constexpr int32_t kRecCallPc = 8;     // its pc (faults of call_function name it)
constexpr int32_t kRecUnwind = 16;    // inside a callback: where its trampoline resumes; else 0
constexpr int32_t kRecOldHook = 24;   // the run context's call_function before this run
constexpr int32_t kRecOldState = 32;  // and its engine_state
constexpr int32_t kRecordBytes = 48;
static_assert(sizeof(Fault) % 8 == 0);

uint64_t splitmix(uint64_t& s) {
  uint64_t z = (s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

Cond cond_of(uint8_t bpf_op) {
  switch (bpf_op) {
    case BPF_JEQ:
      return kE;
    case BPF_JNE:
      return kNE;
    case BPF_JGT:
      return kA;
    case BPF_JGE:
      return kAE;
    case BPF_JLT:
      return kB;
    case BPF_JLE:
      return kBE;
    case BPF_JSGT:
      return kG;
    case BPF_JSGE:
      return kGE;
    case BPF_JSLT:
      return kL;
    case BPF_JSLE:
      return kLE;
    default:
      return kNE;  // BPF_JSET: test, then "some bit set"
  }
}

int log2_exact(uint64_t v) {
  return (v && !(v & (v - 1))) ? __builtin_ctzll(v) : -1;
}

class Emitter {
 public:
  Emitter(std::span<const isa::Decoded> prog, const ProgramFacts& f, const HelperTable& helpers,
          const ExecOptions& opts, const Tuning& t, const ImageTables& tables, uint64_t seed)
      : prog_(prog), f_(f), helpers_(helpers), opts_(opts), t_(t), tables_(tables), seed_(seed) {
    const size_t n = prog.size();
    addrs_.assign(n + 1, 0);
    pc_fixups_.reserve(n);
    stubs_.reserve(opts.checked || opts.insn_budget ? n : 16);
    label_fixups_.reserve(64);
    // Loop heads before each pc: a forward jump's distance can grow by one alignment padding per
    // head it crosses when the code before it shrinks (see short_to).
    align_ = t.loop_align > 1 ? t.loop_align : 0;

    heads_before_.assign(n + 1, 0);
    for (size_t pc = 0; pc < n; ++pc)
      heads_before_[pc + 1] = heads_before_[pc] + (align_ && f.loop_head[pc] ? 1 : 0);
    callbacks_ = f.pseudo_func && (f.helper_calls || f.callx);
    needs_frame_ = f.uses_stack || f.local_calls || f.may_goto || callbacks_;
    need_rc_ =
        opts.checked || opts.insn_budget || f.helper_calls || f.callx || f.ld_pkt || f.local_calls;
    // Tail calls are no helper calls: they cannot fault, nor look at the run's checked flag.
    calls_helpers_ = f.calls_not_12 || (f.helper_calls && !helpers.tail_call_lookup());
    may_fault_ = opts.checked || opts.insn_budget || calls_helpers_ || f.callx || f.local_calls;
    const bool calls_out = may_fault_ || f.helper_calls;  // (resolve_tail_call too)
    // Callee-saved registers the program needs, in push order.
    if (needs_frame_) saved_[n_saved_++] = RBP;
    if (f.regs_used & (1 << 6)) saved_[n_saved_++] = RBX;
    if (need_rc_) saved_[n_saved_++] = R12;
    if (f.regs_used & (1 << 7)) saved_[n_saved_++] = R13;
    if (f.regs_used & (1 << 8)) saved_[n_saved_++] = R14;
    if (f.regs_used & (1 << 9)) saved_[n_saved_++] = R15;
    frame_ = needs_frame_ ? kHeader + kStackBytes + (callbacks_ ? kRecordBytes : 0) : 0;
    if ((calls_out || needs_frame_) && (8 + 8 * n_saved_ + frame_) % 16) frame_ += 8;
  }

  // One layout pass; false when a jump relaxed from the previous layout no longer fits.
  bool pass(Image& img, bool relax) {
    std::vector<size_t>& relocs = img.relocs;
    relocs.clear();
    abs_calls_ = &img.abs_calls;
    abs_calls_->clear();
    Assembler a(img.code);
    a_ = &a;
    relax_ = relax;
    rng_ = seed_;
    prev_ = addrs_;
    fused_skip_ = 0;
    pc_fixups_.clear();
    label_fixups_.clear();
    stubs_.clear();
    relocs_.clear();
    label_relocs_.clear();
    shrinkable_ = 0;

    prologue();
    const size_t n = prog_.size();
    for (size_t pc = 0; pc < n; ++pc) {
      const isa::Decoded& d = prog_[pc];
      a.ensure();
      if (align_ && f_.loop_head[pc]) a.nops((align_ - a.size() % align_) % align_);
      addrs_[pc] = a.size();
      if (d.slots == 0) continue;
      if (fused_skip_) {  // its code was emitted with an instruction before (fuse_*)
        --fused_skip_;
        continue;
      }
      // Flags an instruction left for the next one: not across a jump target or a budget check.
      prev_flags_ = f_.is_target[pc] ? kNoFlags : flags_;
      flags_ = kNoFlags;
      if (opts_.insn_budget && f_.segment_len[pc]) {
        budget_check(pc);
        prev_flags_ = kNoFlags;
      }
      insn(static_cast<uint32_t>(pc), d);
    }
    addrs_[n] = a.size();
    emit_stubs();
    labels_[kExitUnwind] = a.size();
    a.ensure();
    exit_unwind();
    labels_[kCheckThunk] = a.size();
    if (opts_.checked) check_thunk();
    labels_[kEnterThunk] = a.size();
    if (opts_.checked && f_.local_calls) enter_thunk();
    if (callbacks_) trampoline();

    for (const auto& fx : pc_fixups_) {
      const int64_t disp =
          static_cast<int64_t>(addrs_[fx.target]) - static_cast<int64_t>(fx.at + fx.width);
      if (fx.width == 1) {
        if (!fits_i8(disp)) return false;
        a.data()[fx.at] = static_cast<uint8_t>(disp);
      } else {
        a.patch_i32(fx.at, static_cast<int32_t>(disp));
        // Another pass would make it short (with the margin short_to adds).
        if (fx.relaxable && fits_i8(disp + fx.margin)) ++shrinkable_;
      }
    }
    for (const auto& fx : label_fixups_)
      a.patch_i32(fx.at, static_cast<int32_t>(labels_[fx.label] - (fx.at + 4)));
    for (const auto& r : relocs_) {
      const uint64_t v = addrs_[r.target];
      std::memcpy(a.data() + r.at, &v, 8);
      relocs.push_back(r.at);
    }
    for (const auto& r : label_relocs_) {
      const uint64_t v = labels_[r.label];
      std::memcpy(a.data() + r.at, &v, 8);
      relocs.push_back(r.at);
    }
    size_ = a.size();
    return true;
  }
  size_t size() const { return size_; }
  const std::vector<size_t>& insn_offsets() const { return addrs_; }
  // Long jumps of the last pass that the next pass would shorten: none means the layout settled.
  size_t shrinkable() const { return shrinkable_; }

 private:
  enum Label {
    kExitUnwind,
    kCheckThunk,
    kEnterThunk,
    kTrampoline,
    kTrampolineResume,  // after the callback's call: its r0 (or 0 after a fault) in rax
    kTrampolineFail,    // nothing pushed for the call: return 0
    kLabels
  };
  struct LabelReloc {
    size_t at;
    Label label;
  };
  struct PcFixup {
    size_t at;
    uint8_t width;
    uint32_t target;
    bool relaxable = true;
    int32_t margin = 0;  // forward: bytes the distance may grow by in the next pass
  };
  struct LabelFixup {
    size_t at;
    Label label;
  };
  struct Stub {
    enum Kind : uint8_t { Check, Budget, Depth, BadCall, TailInCallback, TailSlot } kind;
    size_t at;  // the rel32 jumping here
    uint32_t pc;
    uint64_t a;   // Check: packed access; Budget: segment length; Depth: callee pc; TailSlot:
                  // where the call falls through (r0 = 0)
    size_t back;  // Check: where to resume; TailSlot: where the target is entered
    Reg reg;      // BadCall: the register holding the value
  };
  struct Reloc {
    size_t at;
    uint32_t target;
  };

  Assembler& a() { return *a_; }

  // --- jumps ----------------------------------------------------------------------------------
  // Forward jumps: code only shrinks from pass to pass, but each loop head's padding may grow
  // by up to align_ - 1 bytes, so the distance the previous layout gives is bounded by that much
  // per loop head in [pc_after, target].
  int32_t margin(uint32_t pc_after, uint32_t target) const {
    if (!align_ || target < pc_after) return 0;
    return static_cast<int32_t>((heads_before_[target + 1] - heads_before_[pc_after]) *
                                (align_ - 1));
  }
  bool short_to(uint32_t pc_after, uint32_t target) const {
    if (!t_.short_jumps) return false;
    // Backward: the target is already placed in this pass, the distance is exact.
    if (target < pc_after)
      return fits_i8(static_cast<int64_t>(addrs_[target]) - static_cast<int64_t>(a_->size() + 2));
    // Forward: the previous pass's layout bounds it.
    if (!relax_) return false;
    return fits_i8(static_cast<int64_t>(prev_[target]) - static_cast<int64_t>(prev_[pc_after]) +
                   margin(pc_after, target));
  }
  // A jump to a pc; always the last bytes of its instruction, so the previous pass's layout
  // predicts its displacement exactly.
  void jump_pc(int cond, uint32_t pc_after, uint32_t target) {
    const bool s = short_to(pc_after, target);
    if (cond < 0) {
      if (s)
        a().byte(0xEB), a().byte(0);
      else
        a().byte(0xE9), a().u32(0);
    } else {
      if (s)
        a().byte(static_cast<uint8_t>(0x70 | cond)), a().byte(0);
      else
        a().byte(0x0F), a().byte(static_cast<uint8_t>(0x80 | cond)), a().u32(0);
    }
    pc_fixups_.push_back({a().size() - (s ? 1 : 4), static_cast<uint8_t>(s ? 1 : 4), target, true,
                          margin(pc_after, target)});
  }
  void call_pc(uint32_t target) {
    a().byte(0xE8), a().u32(0);
    pc_fixups_.push_back({a().size() - 4, 4, target, false});
  }
  void jcc_label(Cond c, Label l) { label_fixups_.push_back({a().jcc_fwd32(c), l}); }
  void jmp_label(Label l) { label_fixups_.push_back({a().jmp_fwd32(), l}); }
  void call_label(Label l) {
    a().byte(0xE8), a().u32(0);
    label_fixups_.push_back({a().size() - 4, l});
  }
  void jcc_stub(Cond c, Stub s) {
    s.at = a().jcc_fwd32(c);
    stubs_.push_back(s);
  }
  // A call to a helper or runtime routine: direct when the code is placed within reach of it.
  void call_abs(const void* fn) {
    const uint64_t target = reinterpret_cast<uint64_t>(fn);
    if (direct(target)) {
      a().byte(0xE8), a().u32(0);
      abs_calls_->push_back({a().size() - 4, target});
      return;
    }
    a().movabs(R11, target);
    a().call_r(R11);
  }
  bool direct(uint64_t target) const {
    if (!t_.direct_calls || !tables_.near) return false;
    const uint64_t d = target > tables_.near ? target - tables_.near : tables_.near - target;
    return d < kDirectReach;
  }

  // --- constant blinding -----------------------------------------------------------------------
  bool blind() const { return opts_.blind_constants; }
  uint32_t key() { return static_cast<uint32_t>(splitmix(rng_)); }
  // r = sign-extended imm without the immediate appearing in the code.
  void blinded_imm(Reg r, int32_t imm) {
    const int32_t k = static_cast<int32_t>(key());
    a().rex(true, 0, r), a().byte(0xC7), a().modrm_rr(0, r),
        a().u32(static_cast<uint32_t>(imm ^ k));
    a().alu_ri(true, kXor, r, k);
  }

  // --- frame -----------------------------------------------------------------------------------
  // With rsp at the main frame: the run context's hook as it was before this run.
  void restore_hook(Reg scratch = R11) {
    if (!callbacks_) return;
    a().load(8, scratch, Mem{RSP, kHeader + kStackBytes + kRecOldHook});
    a().store(8, Mem{kRc, kOffCallFunction}, scratch);
    a().load(8, scratch, Mem{RSP, kHeader + kStackBytes + kRecOldState});
    a().store(8, Mem{kRc, kOffEngineState}, scratch);
  }

  void epilogue() {
    restore_hook();
    if (frame_) a().alu_ri(true, kAdd, RSP, frame_);
    for (int i = n_saved_ - 1; i >= 0; --i) a().pop(saved_[i]);
    a().ret();
  }

  void prologue() {
    Assembler& as = a();
    as.ensure();
    for (int i = 0; i < n_saved_; ++i) as.push(saved_[i]);
    if (need_rc_) as.mov_rr(true, kRc, RSI);
    if (frame_) as.alu_ri(true, kSub, RSP, frame_);
    if (needs_frame_) as.lea(RBP, Mem{RSP, kHeader + kStackBytes});
    if (need_rc_ && needs_frame_) {
      // The stack a run may touch: all of it, or in checked mode only the frames in use (the
      // interpreter's rule), [stack_base, stack_base + stack_size) ending at the top either way.
      const int32_t live = opts_.checked ? kFrameBytes : kStackBytes;
      as.lea(R11, Mem{RSP, kHeader + kStackBytes - live});
      as.store(8, Mem{kRc, kOffStackBase}, R11);
      as.store_imm(8, Mem{kRc, kOffStackSize}, live);
    } else if (opts_.checked) {
      as.store_imm(8, Mem{kRc, kOffStackBase}, 0);
      as.store_imm(8, Mem{kRc, kOffStackSize}, 0);
    }
    // (Executable::run resets the instruction count: a tail call enters here with it running.)
    if (may_fault_) {
      as.op_rr(false, 0x31, R11, R11);
      for (int32_t i = 0; i < static_cast<int32_t>(sizeof(Fault)); i += 8)
        as.store(8, Mem{kRc, kOffFault + i}, R11);
    }
    // Helpers see whether this run is checked (they bounds-check pointers they are given).
    if (need_rc_ && (calls_helpers_ || f_.callx))
      as.store_imm(4, Mem{kRc, kOffChecked}, opts_.checked);
    if (f_.may_goto) as.store_imm(8, Mem{RSP, 8}, BPFBOX_MAX_LOOPS);
    if (callbacks_) {
      // Helpers may call back into this program while it runs (the hook of the run before is
      // kept and given back at every exit).
      const int32_t rec = kHeader + kStackBytes;
      as.load(8, R11, Mem{kRc, kOffCallFunction});
      as.store(8, Mem{RSP, rec + kRecOldHook}, R11);
      as.load(8, R11, Mem{kRc, kOffEngineState});
      as.store(8, Mem{RSP, rec + kRecOldState}, R11);
      as.store_imm(8, Mem{RSP, rec + kRecUnwind}, 0);
      as.lea(R11, Mem{RSP, rec});
      as.store(8, Mem{kRc, kOffEngineState}, R11);
      as.movabs(R11, 0);
      label_relocs_.push_back({as.size() - 8, kTrampoline});
      as.store(8, Mem{kRc, kOffCallFunction}, R11);
    }
    if (opts_.checked && needs_frame_) {
      // Unverified code may read stack it never wrote: zeros, as the interpreter gives it.
      as.mov_rr(true, R10, RCX);
      as.lea(RDI, Mem{RSP, kHeader + kStackBytes - kFrameBytes});
      as.op_rr(false, 0x31, RAX, RAX);
      as.mov_imm32(RCX, kFrameBytes / 8);
      as.rep_stosq();
      as.mov_rr(true, RCX, R10);
    }
    const uint16_t used = f_.regs_used;
    if (used & (1 << 1)) as.mov_rr(true, RDI, RDX);
    if (used & (1 << 2)) as.mov_rr(true, RSI, RCX);
    // The interpreter starts every other register at zero.
    for (int r : {0, 3, 4, 5, 6, 7, 8, 9})
      if (used & f_.read_before_written & (1 << r)) as.op_rr(false, 0x31, kMap[r], kMap[r]);
  }

  void exit_unwind() {
    // A fault or a failed packet load ends the run from any call depth: the frame is found again
    // from the stack base the prologue recorded.
    if (!need_rc_) return;
    if (callbacks_) {
      // Inside a callback, only the callback ends: back to its trampoline, which returns 0 to the
      // helper (with the fault recorded, the helper returns and its caller unwinds further).
      a().load(8, R11, Mem{kRc, kOffEngineState});
      a().load(8, R10, Mem{R11, kRecUnwind});
      a().test_rr(true, R10, R10);
      const size_t in_main = a().jcc_fwd32(kE);
      a().mov_rr(true, RSP, R10);
      a().op_rr(false, 0x31, RAX, RAX);
      jmp_label(kTrampolineResume);
      a().bind32(in_main);
    }
    if (needs_frame_) {
      // stack_base + stack_size is the top of the stack in every mode.
      a().load(8, RSP, Mem{kRc, kOffStackBase});
      a().alu_rm(true, kAdd, RSP, Mem{kRc, kOffStackSize});
      a().alu_ri(true, kSub, RSP, kHeader + kStackBytes);
    }
    a().op_rr(false, 0x31, RAX, RAX);
    epilogue();
  }

  void check_thunk() {
    // Called from checked accesses outside the stack: r11 = address, r10d = packed access.
    // Returns r11 = 1 when allowed; every BPF register survives.
    static constexpr Reg kKeep[] = {RAX, RCX, RDX, RSI, RDI, R8};
    Assembler& as = a();
    as.ensure();
    for (Reg r : kKeep) as.push(r);
    as.alu_ri(true, kSub, RSP, 8);
    as.mov_rr(true, RDI, kRc);
    as.mov_rr(true, RSI, R11);
    as.mov_rr(false, RDX, R10);
    call_abs(reinterpret_cast<const void*>(&rt::check_access));
    as.mov_rr(true, R11, RAX);
    as.alu_ri(true, kAdd, RSP, 8);
    for (int i = 5; i >= 0; --i) as.pop(kKeep[i]);
    as.ret();
  }

  // Checked mode, a new frame (rbp already lowered): it becomes live and starts zeroed, as the
  // interpreter's. Every BPF register survives.
  void enter_thunk() {
    Assembler& as = a();
    as.ensure();
    as.lea(R11, Mem{RBP, -kFrameBytes});
    as.store(8, Mem{kRc, kOffStackBase}, R11);
    as.alu_mi(true, kAdd, Mem{kRc, kOffStackSize}, kFrameBytes);
    as.byte(0x66), as.byte(0x0F), as.byte(0xEF), as.byte(0xC0);  // pxor xmm0, xmm0
    as.mov_imm32(R10, kFrameBytes / 16);
    const size_t loop = as.size();
    as.byte(0x41), as.byte(0x0F), as.byte(0x11), as.byte(0x03);  // movups [r11], xmm0
    as.alu_ri(true, kAdd, R11, 16);
    as.alu_ri(false, kSub, R10, 1);
    as.jcc_to(kNE, loop, true);
    as.ret();
  }

  // RunContext::call_function while this program runs: (rc, fn, r1..r5) from a helper, SysV (r5
  // on the stack). Runs fn one frame below the helper's caller, as a bpf-to-bpf call would, and
  // returns its r0; a fault inside ends only the callback (exit_unwind comes back here) and
  // returns 0 with the fault recorded, as the interpreter's.
  void trampoline() {
    Assembler& as = a();
    as.ensure();
    labels_[kTrampoline] = as.size();
    static constexpr Reg kCalleeSaved[] = {RBP, RBX, R12, R13, R14, R15};
    for (Reg r : kCalleeSaved) as.push(r);
    as.mov_rr(true, kRc, RDI);
    as.mov_rr(true, R11, RSI);  // fn
    as.mov_rr(true, RDI, RDX);  // r1..r5 where BPF code expects them
    as.mov_rr(true, RSI, RCX);
    as.mov_rr(true, RDX, R8);
    as.mov_rr(true, RCX, R9);
    as.load(8, R8, Mem{RSP, 6 * 8 + 8});  // the seventh argument, above the return address
    // The helper call's state, given back when the callback is done (the helper may call again).
    as.load(8, R10, Mem{kRc, kOffEngineState});
    for (int32_t off : {kRecCallRbp, kRecCallPc, kRecUnwind}) {
      as.load(8, R9, Mem{R10, off});
      as.push(R9);
    }
    as.load(8, R9, Mem{kRc, kOffStackBase});
    as.push(R9);
    as.load(8, R9, Mem{kRc, kOffStackSize});
    as.push(R9);  // 11 pushes: rsp is 16-byte aligned for the calls below
    as.load(8, RBP, Mem{R10, kRecCallRbp});
    // fn must be one of this program's functions; r9 = its pc.
    found_.clear();
    auto try_function = [&](uint32_t fpc) {
      as.ensure();
      as.movabs(R9, 0);
      relocs_.push_back({as.size() - 8, fpc});
      as.alu_rr(true, kCmp, R11, R9);
      const size_t next = as.jcc_fwd32(kNE);
      as.mov_imm32(R9, fpc);
      found_.push_back(as.jmp_fwd32());
      as.bind32(next);
    };
    if (f_.main_is_callee) try_function(0);
    for (uint32_t fpc : f_.functions) try_function(fpc);
    as.ensure();
    tramp_fault(FaultKind::BadCall, R11);
    for (size_t at : found_) as.bind32(at);
    // The callback's frame must fit below the helper caller's: (top - r10) + 512 < 8 * 512.
    as.load(8, RAX, Mem{kRc, kOffStackBase});
    as.alu_rm(true, kAdd, RAX, Mem{kRc, kOffStackSize});
    as.alu_rr(true, kSub, RAX, RBP);
    as.alu_ri(true, kCmp, RAX, kStackBytes - 2 * kFrameBytes);
    const size_t fits = as.jcc_fwd32(kBE);
    tramp_fault(FaultKind::CallDepth, R9);
    as.bind32(fits);
    as.ensure();
    // As a bpf-to-bpf call: a fresh may_goto counter at [rsp+8] of the callee (or padding).
    if (f_.may_goto)
      as.push_imm32(BPFBOX_MAX_LOOPS);
    else
      as.alu_ri(true, kSub, RSP, 8);
    as.alu_ri(true, kSub, RBP, kFrameBytes);
    as.mov_rr(true, R9, R11);
    if (opts_.checked) call_label(kEnterThunk);
    as.load(8, R10, Mem{kRc, kOffEngineState});
    as.store(8, Mem{R10, kRecUnwind}, RSP);
    for (Reg r : {RAX, RBX, R13, R14, R15}) as.op_rr(false, 0x31, r, r);  // as the interpreter
    as.call_r(R9);
    labels_[kTrampolineResume] = as.size();
    as.alu_ri(true, kAdd, RSP, 8);
    labels_[kTrampolineFail] = as.size();
    as.pop(R9);
    as.store(8, Mem{kRc, kOffStackSize}, R9);
    as.pop(R9);
    as.store(8, Mem{kRc, kOffStackBase}, R9);
    as.load(8, R10, Mem{kRc, kOffEngineState});
    for (int32_t off : {kRecUnwind, kRecCallPc, kRecCallRbp}) {
      as.pop(R9);
      as.store(8, Mem{R10, off}, R9);
    }
    for (int i = 5; i >= 0; --i) as.pop(kCalleeSaved[i]);
    as.ret();
  }
  // A fault of call_function itself, at the helper call's pc: returns 0 to the helper.
  void tramp_fault(FaultKind kind, Reg addr) {
    Assembler& as = a();
    as.mov_rr(true, RCX, addr);
    as.load(8, R10, Mem{kRc, kOffEngineState});
    as.load(4, RDX, Mem{R10, kRecCallPc});
    as.mov_rr(true, RDI, kRc);
    as.mov_imm32(RSI, static_cast<uint32_t>(kind));
    call_abs(reinterpret_cast<const void*>(&rt::call_fault));
    as.op_rr(false, 0x31, RAX, RAX);
    jmp_label(kTrampolineFail);
  }

  void emit_stubs() {
    Assembler& as = a();
    for (const Stub& s : stubs_) {
      as.ensure();
      as.bind32(s.at);
      switch (s.kind) {
        case Stub::Check:
          as.mov_imm32(R10, static_cast<uint32_t>(s.a));
          call_label(kCheckThunk);
          as.test_rr(true, R11, R11);
          as.jcc_to(kNE, s.back, false);
          break;
        case Stub::Budget:
          as.mov_rr(true, RDI, kRc);
          as.mov_imm32(RSI, s.pc);
          as.mov_imm32(RDX, static_cast<uint32_t>(s.a));
          as.movabs(RCX, reinterpret_cast<uint64_t>(tables_.slots));
          as.movabs(R8, opts_.insn_budget);
          call_abs(reinterpret_cast<const void*>(&rt::budget_fault));
          break;
        case Stub::TailSlot:
          // Another process changed the slot: resolved as an indirect tail call would be.
          resolve_tail_call_of(*const_tail_call(s.pc));
          as.jcc_to(kNE, s.back, false);
          as.jmp_to(s.a, false);
          continue;
        case Stub::Depth:
        case Stub::BadCall:
        case Stub::TailInCallback:
          if (s.kind == Stub::BadCall)
            as.mov_rr(true, RCX, s.reg);
          else
            as.mov_imm64(RCX, s.a);
          as.mov_rr(true, RDI, kRc);
          as.mov_imm32(RSI,
                       static_cast<uint32_t>(s.kind == Stub::Depth     ? FaultKind::CallDepth
                                             : s.kind == Stub::BadCall ? FaultKind::BadCall
                                                                       : FaultKind::Unsupported));
          as.mov_imm32(RDX, s.pc);
          call_abs(reinterpret_cast<const void*>(&rt::call_fault));
          break;
      }
      jmp_label(kExitUnwind);
    }
  }

  void budget_check(size_t pc) {
    const uint32_t len = f_.segment_len[pc];
    const Mem cnt{kRc, kOffInsns};
    a().alu_mi(true, kAdd, cnt, static_cast<int32_t>(len));
    if (opts_.insn_budget <= INT32_MAX) {
      a().alu_mi(true, kCmp, cnt, static_cast<int32_t>(opts_.insn_budget));
    } else {
      a().movabs(R11, opts_.insn_budget);
      a().alu_rm(true, kCmp, R11, cnt);  // cmp r11, [cnt]: below means over budget
      jcc_stub(kB, Stub{Stub::Budget, 0, static_cast<uint32_t>(pc), len, 0, RAX});
      return;
    }
    jcc_stub(kA, Stub{Stub::Budget, 0, static_cast<uint32_t>(pc), len, 0, RAX});
  }

  // Checked mode: traps an access outside the stack and every region before it happens.
  void check_access(uint32_t pc, Reg base, int16_t off, uint8_t size, uint8_t access) {
    if (!opts_.checked) return;
    Assembler& as = a();
    as.lea(R11, Mem{base, off});
    Stub s{Stub::Check, 0, pc, rt::pack_access(pc, size, access), 0, RAX};
    if (needs_frame_) {
      // The live stack inline: (addr - stack_base) <= stack_size - size.
      as.mov_rr(true, R10, R11);
      as.alu_rm(true, kSub, R10, Mem{kRc, kOffStackBase});
      as.load(8, R9, Mem{kRc, kOffStackSize});
      as.alu_ri(true, kSub, R9, size);
      as.alu_rr(true, kCmp, R10, R9);
      s.at = as.jcc_fwd32(kA);
    } else {
      s.at = as.jmp_fwd32();
    }
    s.back = as.size();
    stubs_.push_back(s);
  }

  // --- instructions ----------------------------------------------------------------------------
  void insn(uint32_t pc, const isa::Decoded& d) {
    const isa::OpInfo& o = d.info();
    const Reg dst = kMap[d.dst <= isa::kRegAx ? d.dst : 0];
    const Reg src = kMap[d.src <= isa::kRegAx ? d.src : 0];
    switch (o.kind) {
      case Kind::Alu:
        alu(d, o, dst, src);
        break;
      case Kind::Neg:
        a().neg(o.is64, dst);
        break;
      case Kind::Mov:
        if (!fuse_mov_add(pc, d, dst, src)) mov(d, o, dst, src);
        break;
      case Kind::Movsx:
        if (o.size == 8)
          a().movsx8(o.is64, dst, src);
        else if (o.size == 16)
          a().movsx16(o.is64, dst, src);
        else
          a().movsxd(dst, src);
        break;
      case Kind::End:
        endian(d.op, dst);
        break;
      case Kind::Ja:
        if (d.off != 0) jump_pc(-1, pc + 1, pc + 1 + d.off);
        break;
      case Kind::Gotol:
        if (d.imm != 0) jump_pc(-1, pc + 1, static_cast<uint32_t>(pc + 1 + d.imm));
        break;
      case Kind::Jcond:
        jcond(pc, d, o, dst, src);
        break;
      case Kind::MayGoto: {
        // As the interpreter: jump once the frame's counter is spent, else count down.
        a().alu_mi(true, kCmp, Mem{RSP, 8}, 0);
        a().byte(0x0F), a().byte(0x80 | kE), a().u32(0);
        pc_fixups_.push_back({a().size() - 4, 4, static_cast<uint32_t>(pc + 1 + d.off), false});
        a().alu_mi(true, kSub, Mem{RSP, 8}, 1);
        break;
      }
      case Kind::Call:
        if (is_tail_call(d, helpers_))
          tail_call(pc);
        else
          helper_call(pc, *helpers_.get(static_cast<uint32_t>(d.imm)));
        break;
      case Kind::CallLocal:
        local_call(pc, static_cast<uint32_t>(pc + 1 + d.imm));
        break;
      case Kind::Callx:
        callx(pc, dst);
        break;
      case Kind::CallKfunc:
        break;  // refused before translation
      case Kind::Exit:
        exit_insn(pc);
        break;
      case Kind::Lddw:
        if (d.src == BPF_PSEUDO_FUNC) {
          a().movabs(dst, 0);
          relocs_.push_back({a().size() - 8, static_cast<uint32_t>(pc + 1 + d.imm)});
        } else if (blind() && d.imm64) {
          const uint64_t k = splitmix(rng_);
          a().movabs(dst, d.imm64 ^ k);
          a().movabs(R11, k);
          a().alu_rr(true, kXor, dst, R11);
        } else {
          a().mov_imm64(dst, d.imm64);
        }
        break;
      case Kind::LdAbs:
      case Kind::LdInd:
        ld_pkt(d, o, src);
        break;
      case Kind::Ldx:
        if (fuse_copy_pair(pc, d, o)) break;
        [[fallthrough]];
      case Kind::LoadAcq:
        check_access(pc, src, d.off, o.size, kRead);
        a().load(o.size, dst, Mem{src, d.off});
        break;
      case Kind::Ldxs:
        check_access(pc, src, d.off, o.size, kRead);
        a().load_sx(o.size, dst, Mem{src, d.off});
        break;
      case Kind::Nospec:
        a().byte(0x0F), a().byte(0xAE), a().byte(0xE8);  // lfence: no speculation past here
        break;
      case Kind::St:
        check_access(pc, dst, d.off, o.size, kWrite);
        if (blind() && d.imm) {
          blinded_imm(R11, d.imm);
          a().store(o.size, Mem{dst, d.off}, R11);
        } else {
          a().store_imm(o.size, Mem{dst, d.off}, d.imm);
        }
        break;
      case Kind::Stx:
      case Kind::StoreRel:
        check_access(pc, dst, d.off, o.size, kWrite);
        a().store(o.size, Mem{dst, d.off}, src);
        break;
      case Kind::Atomic:
        check_access(pc, dst, d.off, o.size, kReadWrite);
        atomic(d, o, dst, src);
        break;
    }
  }

  void alu(const isa::Decoded& d, const isa::OpInfo& o, Reg dst, Reg src) {
    const bool w = o.is64;
    const bool k = !o.uses_src;
    if (k && blind() && d.imm != 0) {
      blinded_imm(R11, d.imm);
      src = R11;
    } else if (k) {
      alu_imm(d, o, dst);
      return;
    }
    switch (o.op) {
      case BPF_ADD:
        a().alu_rr(w, kAdd, dst, src);
        set_flags(dst, w);
        break;
      case BPF_SUB:
        a().alu_rr(w, kSub, dst, src);
        set_flags(dst, w);
        break;
      case BPF_OR:
        a().alu_rr(w, kOr, dst, src);
        set_flags(dst, w);
        break;
      case BPF_AND:
        a().alu_rr(w, kAnd, dst, src);
        set_flags(dst, w);
        break;
      case BPF_XOR:
        a().alu_rr(w, kXor, dst, src);
        set_flags(dst, w);
        break;
      case BPF_MUL:
        a().imul_rr(w, dst, src);
        break;
      case BPF_LSH:
        shift_reg(w, kShl, dst, src);
        break;
      case BPF_RSH:
        shift_reg(w, kShr, dst, src);
        break;
      case BPF_ARSH:
        shift_reg(w, kSar, dst, src);
        break;
      case BPF_DIV:
      case BPF_MOD:
        divide_reg(w, d.off == 1, o.op == BPF_MOD, dst, src);
        break;
      default:
        break;
    }
  }

  // Zero-extends the low half in place (what a 32-bit operation that changes nothing still does).
  void zext32(Reg r) { a().mov_rr(false, r, r); }

  void alu_imm(const isa::Decoded& d, const isa::OpInfo& o, Reg dst) {
    const bool w = o.is64;
    const int32_t imm = d.imm;
    switch (o.op) {
      case BPF_ADD:
      case BPF_SUB:
      case BPF_OR:
      case BPF_XOR:
        if (imm == 0) {
          if (!w) zext32(dst);
          return;
        }
        a().alu_ri(w,
                   o.op == BPF_ADD   ? kAdd
                   : o.op == BPF_SUB ? kSub
                   : o.op == BPF_OR  ? kOr
                                     : kXor,
                   dst, imm);
        set_flags(dst, w);
        return;
      case BPF_AND:
        if (imm == 0) return a().op_rr(false, 0x31, dst, dst);
        if (imm == -1) {
          if (!w) zext32(dst);
          return;
        }
        if (!w && imm == 0xFFFF) return a().movzx16(dst, dst);
        if (!w && imm == 0xFF) return a().movzx8(dst, dst);
        a().alu_ri(w, kAnd, dst, imm);
        set_flags(dst, w);
        return;
      case BPF_MUL: {
        if (imm == 0) return a().op_rr(false, 0x31, dst, dst);
        const int sh = imm > 0 ? log2_exact(static_cast<uint64_t>(imm)) : -1;
        if (sh == 0) {
          if (!w) zext32(dst);
        } else if (sh > 0) {
          a().shift_ri(w, kShl, dst, static_cast<uint8_t>(sh));
        } else {
          a().imul_rri(w, dst, dst, imm);
        }
        return;
      }
      case BPF_LSH:
      case BPF_RSH:
      case BPF_ARSH: {
        const uint8_t n = static_cast<uint8_t>(imm & (w ? 63 : 31));
        if (n == 0) {
          if (!w) zext32(dst);
          return;
        }
        a().shift_ri(w, o.op == BPF_LSH ? kShl : o.op == BPF_RSH ? kShr : kSar, dst, n);
        return;
      }
      case BPF_DIV:
      case BPF_MOD:
        divide_imm(w, d.off == 1, o.op == BPF_MOD, dst, imm);
        return;
      default:
        return;
    }
  }

  void shift_reg(bool w, ShiftOp op, Reg dst, Reg src) {
    Assembler& as = a();
    if (t_.bmi2) {
      as.shiftx(w, op, dst, dst, src);
    } else if (src == RCX) {
      as.shift_rcl(w, op, dst);
    } else if (dst == RCX) {
      as.mov_rr(true, R10, RCX);
      as.mov_rr(true, RCX, src);
      as.shift_rcl(w, op, R10);
      as.mov_rr(true, RCX, R10);
    } else {
      as.mov_rr(true, R10, RCX);
      as.mov_rr(true, RCX, src);
      as.shift_rcl(w, op, dst);
      as.mov_rr(true, RCX, R10);
    }
  }

  // dst = dst / v or dst % v for a divisor register that is neither zero nor (signed) -1.
  void divide_core(bool w, bool is_signed, bool mod, Reg dst, Reg v) {
    Assembler& as = a();
    if (v == RAX || v == RDX) {
      as.mov_rr(true, R11, v);
      v = R11;
    }
    if (dst != RAX) as.mov_rr(true, R10, RAX);
    if (dst != RDX) as.mov_rr(true, R9, RDX);
    if (dst != RAX) as.mov_rr(true, RAX, dst);
    if (is_signed)
      as.cqo(w);
    else
      as.op_rr(false, 0x31, RDX, RDX);
    as.div(w, is_signed, v);
    const Reg result = mod ? RDX : RAX;
    if (dst != result) as.mov_rr(true, dst, result);
    if (dst != RAX) as.mov_rr(true, RAX, R10);
    if (dst != RDX) as.mov_rr(true, RDX, R9);
  }

  // Division semantics: by 0 gives 0, modulo by 0 leaves dst; signed MIN / -1 gives MIN (mod 0).
  void divide_by_zero(bool w, bool mod, Reg dst) {
    if (!mod)
      a().op_rr(false, 0x31, dst, dst);
    else if (!w)
      zext32(dst);
  }
  void divide_by_minus_one(bool w, bool mod, Reg dst) {
    if (!mod)
      a().neg(w, dst);
    else
      a().op_rr(false, 0x31, dst, dst);
  }

  void divide_imm(bool w, bool is_signed, bool mod, Reg dst, int32_t imm) {
    const uint64_t v =
        w ? static_cast<uint64_t>(static_cast<int64_t>(imm)) : static_cast<uint32_t>(imm);
    if (v == 0) return divide_by_zero(w, mod, dst);
    if (is_signed && imm == -1) return divide_by_minus_one(w, mod, dst);
    if (!is_signed) {
      if (const int sh = log2_exact(v); sh >= 0) {
        if (mod) {
          const uint64_t m = v - 1;
          if (m <= INT32_MAX && (w || m <= INT32_MAX)) {
            if (m == 0)
              a().op_rr(false, 0x31, dst, dst);
            else
              a().alu_ri(w, kAnd, dst, static_cast<int32_t>(m));
          } else {
            a().mov_imm64(R11, m);
            a().alu_rr(w, kAnd, dst, R11);
          }
        } else if (sh == 0) {
          if (!w) zext32(dst);
        } else {
          a().shift_ri(w, kShr, dst, static_cast<uint8_t>(sh));
        }
        return;
      }
    }
    if (!is_signed && v < (1ull << 32)) return divide_magic(w, mod, dst, v);
    a().mov_imm64(R11, w ? v : static_cast<uint32_t>(imm));
    divide_core(w, is_signed, mod, dst, R11);
  }

  // Unsigned division by a constant d (2 < d < 2^32, not a power of two) as a multiplication by
  // its reciprocal (Granlund & Montgomery, "Division by invariant integers using multiplication",
  // 1994): a few cycles where `div` takes tens. The kernel's JIT divides.
  //   32-bit: q = mulhi64(n, ceil(2^64 / d)), exact for every n < 2^32.
  //   64-bit: q = mulhi64(n, M) >> s when some M = ceil(2^(64+s) / d) < 2^64 errs by at most 2^s,
  //           else t = mulhi64(n, m'), q = (t + ((n - t) >> 1)) >> (l - 1), l = ceil(log2 d).
  // rax and rdx (r0 and r3) are saved in r10 and r9 unless dst is one of them.
  void divide_magic(bool w, bool mod, Reg dst, uint64_t d) {
    using u128 = unsigned __int128;
    const int l = 64 - __builtin_clzll(d - 1);  // 2^(l-1) < d < 2^l
    uint64_t m = 0;
    int shift = -1;  // -1: the add method
    if (!w) {
      m = static_cast<uint64_t>((u128{1} << 64) / d + 1);
      shift = 0;
    } else {
      for (int s = 0; s <= l && shift < 0; ++s) {
        const u128 k = u128{1} << (64 + s);
        const u128 mm = (k + d - 1) / d;
        if (mm >> 64 == 0 && mm * d - k <= (u128{1} << s)) m = static_cast<uint64_t>(mm), shift = s;
      }
      if (shift < 0) m = static_cast<uint64_t>(((u128{1} << 64) * ((u128{1} << l) - d)) / d + 1);
    }
    Assembler& as = a();
    if (!w) zext32(dst);  // the operation reads the low half only
    // n stays in dst, or in a copy when the multiplication overwrites dst.
    Reg n = dst;
    if (dst == RAX) {
      as.mov_rr(true, R10, RAX);
      n = R10;
    } else {
      as.mov_rr(true, R10, RAX);  // saved
    }
    if (dst == RDX) {
      as.mov_rr(true, R9, RDX);
      n = R9;
    } else {
      as.mov_rr(true, R9, RDX);  // saved
    }
    as.mov_imm64(RAX, m);
    as.mul(n);  // rdx = mulhi(n, m)
    if (shift >= 0) {
      as.mov_rr(true, RAX, RDX);
      if (shift) as.shift_ri(true, kShr, RAX, static_cast<uint8_t>(shift));
    } else {
      as.mov_rr(true, RAX, n);
      as.alu_rr(true, kSub, RAX, RDX);
      as.shift_ri(true, kShr, RAX, 1);
      as.alu_rr(true, kAdd, RAX, RDX);
      if (l > 1) as.shift_ri(true, kShr, RAX, static_cast<uint8_t>(l - 1));
    }
    // rax = q. The remainder is n - q * d (d < 2^32, so imul's sign-extended imm32 is d in the
    // 64-bit case; the 32-bit case keeps the low half, which is all it needs).
    if (mod) {
      as.imul_rri(w, RAX, RAX, static_cast<int32_t>(d));
      as.alu_rr(w, kSub, n, RAX);
      if (n != dst) as.mov_rr(true, dst, n);
    } else if (dst != RAX) {
      as.mov_rr(true, dst, RAX);
    }
    if (dst != RAX) as.mov_rr(true, RAX, R10);
    if (dst != RDX) as.mov_rr(true, RDX, R9);
  }

  void divide_reg(bool w, bool is_signed, bool mod, Reg dst, Reg src) {
    Assembler& as = a();
    as.test_rr(w, src, src);
    const size_t to_zero = as.jcc_fwd32(kE);
    size_t to_minus_one = 0;
    if (is_signed) {
      as.alu_ri(w, kCmp, src, -1);
      to_minus_one = as.jcc_fwd32(kE);
    }
    divide_core(w, is_signed, mod, dst, src);
    const size_t done1 = as.jmp_fwd32();
    as.bind32(to_zero);
    divide_by_zero(w, mod, dst);
    size_t done2 = 0;
    if (is_signed) {
      done2 = as.jmp_fwd32();
      as.bind32(to_minus_one);
      divide_by_minus_one(w, mod, dst);
      as.bind32(done2);
    }
    as.bind32(done1);
  }

  // `rX = rY; rX += imm` (or -=, both 64-bit or both 32-bit) is one `lea rX, [rY + imm]`: the
  // copy-and-offset of pointer arithmetic (packet cursors, r10-relative stack arguments);
  // `rX = rY; rX += rZ` is `lea rX, [rY + rZ]`. Not when the add is a jump target or starts a
  // budget segment, nor when blinding hides the imm.
  bool fuse_mov_add(uint32_t pc, const isa::Decoded& d, Reg dst, Reg src) {
    const bool w = d.op == Op::Mov64X;
    if ((!w && d.op != Op::Mov32X) || d.dst == d.src || pc + 1 >= prog_.size() || blind())
      return false;
    const isa::Decoded& n = prog_[pc + 1];
    if (n.dst != d.dst || f_.is_target[pc + 1] || (opts_.insn_budget && f_.segment_len[pc + 1]))
      return false;
    if (n.op == (w ? Op::Add64X : Op::Add32X)) {
      // rX = rY; rX += rZ: base rY, index rZ (rY again when rZ is rX).
      a().lea_rr(w, dst, src, n.src == d.dst ? src : kMap[n.src]);
      fused_skip_ = 1;
      return true;
    }
    int64_t disp;
    if (n.op == (w ? Op::Add64K : Op::Add32K))
      disp = n.imm;
    else if (n.op == (w ? Op::Sub64K : Op::Sub32K) && n.imm != INT32_MIN)
      disp = -static_cast<int64_t>(n.imm);
    else
      return false;
    a().lea(w, dst, Mem{src, static_cast<int32_t>(disp)});
    fused_skip_ = 1;
    return true;
  }

  // Two adjacent fields copied to adjacent slots, `rA = *(uN *)(rB + o); *(uN *)(rD + s) = rA;
  // rC = *(uN *)(rB + o + N); *(uN *)(rD + s + N) = rC` (N = 1, 2, 4: how clang builds a struct
  // key on the stack from packet fields, or copies bytes within a packet), is one 2N-byte load
  // and one 2N-byte store, then rA and rC from it. A helper reading a stack key in words (a hash
  // map's jhash and key compare) then finds one store to forward from, where two narrow stores
  // make the CPU wait for them to reach the cache (a store-forwarding stall, ~10 cycles per word:
  // hash_conntrack ran ~30% slower for it); byte copies take half the instructions.
  // The second load must not read what the first store wrote: checked statically when rB is rD,
  // else at run time, falling back to the four instructions as written. Not in checked or budget
  // mode (each access is checked or ends a segment there), nor across a jump target.
  bool fuse_copy_pair(uint32_t pc, const isa::Decoded& d, const isa::OpInfo& o) {
    const int n = o.size;
    if (opts_.checked || opts_.insn_budget || !t_.fuse_copies || n > 4 || pc + 3 >= prog_.size())
      return false;
    const isa::Decoded& s1 = prog_[pc + 1];
    const isa::Decoded& l2 = prog_[pc + 2];
    const isa::Decoded& s2 = prog_[pc + 3];
    auto is = [n](const isa::Decoded& x, isa::Kind k) {
      return x.slots == 1 && x.info().kind == k && x.info().size == n;
    };
    if (!is(s1, isa::Kind::Stx) || !is(l2, isa::Kind::Ldx) || !is(s2, isa::Kind::Stx)) return false;
    if (f_.is_target[pc + 1] || f_.is_target[pc + 2] || f_.is_target[pc + 3]) return false;
    if (d.dst >= 10 || l2.dst >= 10 || d.src > 10 || s1.dst > 10 || d.dst == d.src ||
        s1.src != d.dst || l2.src != d.src || s2.dst != s1.dst || s2.src != l2.dst ||
        s1.dst == d.dst || s1.dst == l2.dst || int(l2.off) != int(d.off) + n ||
        int(s2.off) != int(s1.off) + n)
      return false;
    // Where the second load reads, relative to where the first store writes: overlap is |gap| < N.
    const int gap = int(l2.off) - int(s1.off);
    const bool same_base = d.src == s1.dst;
    if (same_base && gap > -n && gap < n) return false;
    Assembler& as = a();
    const Reg base = kMap[d.src], ra = kMap[d.dst], rc = kMap[l2.dst], to = kMap[s1.dst];
    size_t to_slow = 0;
    if (!same_base) {  // overlap iff (rB + o + N) - (rD + s) + N - 1 <= 2N - 2, unsigned
      as.lea(R11, Mem{base, gap + n - 1});
      as.alu_rr(true, kSub, R11, to);
      as.alu_ri(true, kCmp, R11, 2 * n - 2);
      to_slow = as.jcc_fwd8(kBE);
    }
    as.load(static_cast<uint8_t>(2 * n), R10, Mem{base, d.off});
    as.store(static_cast<uint8_t>(2 * n), Mem{to, s1.off}, R10);
    if (ra != rc) {
      if (n == 4)
        as.mov_rr(false, ra, R10);
      else if (n == 2)
        as.movzx16(ra, R10);
      else
        as.movzx8(ra, R10);
    }
    as.mov_rr(true, rc, R10);
    as.shift_ri(true, kShr, rc, static_cast<uint8_t>(8 * n));
    if (!same_base) {
      as.byte(0xEB), as.byte(0);  // jmp done
      const size_t to_done = as.size() - 1;
      as.bind8(to_slow);
      as.load(static_cast<uint8_t>(n), ra, Mem{base, d.off});
      as.store(static_cast<uint8_t>(n), Mem{to, s1.off}, ra);
      as.load(static_cast<uint8_t>(n), rc, Mem{base, l2.off});
      as.store(static_cast<uint8_t>(n), Mem{to, s2.off}, rc);
      as.bind8(to_done);
    }
    fused_skip_ = 3;
    return true;
  }

  void mov(const isa::Decoded& d, const isa::OpInfo& o, Reg dst, Reg src) {
    if (o.uses_src) {
      if (o.is64) {
        if (dst != src) a().mov_rr(true, dst, src);
      } else {
        a().mov_rr(false, dst, src);
      }
      return;
    }
    if (d.imm == 0) return a().op_rr(false, 0x31, dst, dst);
    if (blind()) {
      const int32_t k = static_cast<int32_t>(key());
      if (o.is64) {
        blinded_imm(dst, d.imm);
      } else {
        a().mov_imm32(dst, static_cast<uint32_t>(d.imm ^ k));
        a().alu_ri(false, kXor, dst, k);
      }
      return;
    }
    if (o.is64)
      a().mov_imm64(dst, static_cast<uint64_t>(static_cast<int64_t>(d.imm)));
    else
      a().mov_imm32(dst, static_cast<uint32_t>(d.imm));
  }

  void endian(Op op, Reg dst) {
    switch (op) {
      case Op::Le16:
        a().movzx16(dst, dst);
        break;
      case Op::Le32:
        zext32(dst);
        break;
      case Op::Le64:
        break;
      case Op::Be16:
      case Op::Bswap16:
        a().ror16_8(dst);
        a().movzx16(dst, dst);
        break;
      case Op::Be32:
      case Op::Bswap32:
        a().bswap(false, dst);
        break;
      default:
        a().bswap(true, dst);
        break;
    }
  }

  void jcond(uint32_t pc, const isa::Decoded& d, const isa::OpInfo& o, Reg dst, Reg src) {
    const uint32_t target = static_cast<uint32_t>(pc + 1 + d.off);
    if (d.off == 0) return;  // both ways lead to the next instruction
    const bool w = o.is64;
    const bool jset = o.op == BPF_JSET;
    if (!o.uses_src && blind() && d.imm != 0) {
      blinded_imm(R11, d.imm);
      src = R11;
    } else if (!o.uses_src) {
      const bool zero_test = d.imm == 0 && (o.op == BPF_JEQ || o.op == BPF_JNE);
      // ZF from the previous instruction's result on dst already answers "== 0" (a 32-bit result
      // is zero-extended, so it answers a 64-bit test too).
      if (zero_test && prev_flags_.reg == dst && (w || !prev_flags_.w))
        return jump_pc(cond_of(o.op), pc + 1, target);
      if (jset)
        a().test_ri(w, dst, d.imm);
      else if (d.imm == 0)
        a().test_rr(w, dst, dst);
      else
        a().alu_ri(w, kCmp, dst, d.imm);
      return jump_pc(cond_of(o.op), pc + 1, target);
    }
    if (jset)
      a().test_rr(w, dst, src);
    else
      a().alu_rr(w, kCmp, dst, src);
    jump_pc(cond_of(o.op), pc + 1, target);
  }

  // What call_function needs to know about the helper call about to happen.
  void note_helper_call(uint32_t pc) {
    if (!callbacks_) return;
    a().load(8, R11, Mem{kRc, kOffEngineState});
    a().store(8, Mem{R11, kRecCallRbp}, RBP);
    a().store_imm(4, Mem{R11, kRecCallPc}, static_cast<int32_t>(pc));
  }

  void helper_call(uint32_t pc, const Helper& h) {
    if (h.inline_as == HelperInline::RunCpu)  // cannot fault nor call back
      return a().load(4, RAX, Mem{kRc, kOffCpu});
    note_helper_call(pc);
    a().mov_rr(true, R9, kRc);
    call_abs(reinterpret_cast<const void*>(h.fn));
    // A helper may end the run by recording a fault.
    a().cmp_m8(Mem{kRc, kOffFaultKind}, 0);
    jcc_label(kNE, kExitUnwind);
  }

  // bpf_tail_call (r2 = map, r3 = index), looked up at the time of the call, so an update is seen
  // by the next tail call. On success this program's frame is left from any depth, as its
  // epilogue would, and the target is entered as Executable::run does (r1 = the run's ctx): the
  // native stack does not grow.
  void tail_call(uint32_t pc) {
    Assembler& as = a();
    if (callbacks_) {  // a callback cannot leave its helper this way (as the interpreter)
      as.load(8, R11, Mem{kRc, kOffEngineState});
      as.alu_mi(true, kCmp, Mem{R11, kRecUnwind}, 0);
      jcc_stub(kNE, Stub{Stub::TailInCallback, 0, pc, BPF_FUNC_tail_call, 0, RAX});
    }
    const ProgramFacts::ConstTailCall* c = const_tail_call(pc);
    if (c && helpers_.tail_call_slot())
      return direct_tail_call(pc,
                              helpers_.tail_call_slot()(reinterpret_cast<void*>(c->map), c->index));
    as.mov_rr(true, RCX, RDX);  // index
    as.mov_rr(true, RDX, RSI);  // map
    as.movabs(RSI, reinterpret_cast<uint64_t>(tables_.self));
    as.mov_rr(true, RDI, kRc);
    call_abs(reinterpret_cast<const void*>(&resolve_tail_call));
    as.test_rr(true, RAX, RAX);
    const size_t fall_through = as.jcc_fwd32(kE);  // r0 = 0, r1..r5 clobbered: a helper call's
    as.mov_rr(true, R11, RDX);                     // the target's entry
    enter_tail_target();
    as.bind32(fall_through);
  }

  // A constant map and index: the program array's slot is read inline (one load, the kernel's
  // direct tail call without patching code), with resolve_tail_call's checks: an index out of
  // range always falls through; else the limit, the slot, the target's mode, then the count.
  void direct_tail_call(uint32_t pc, const TailCallSlot& slot) {
    Assembler& as = a();
    if (!slot.prog) return as.op_rr(false, 0x31, RAX, RAX);
    const Executable::TailCallFields fields = Executable::tail_call_fields();
    as.alu_mi(false, kCmp, Mem{kRc, kOffTailCallCnt}, static_cast<int32_t>(kMaxTailCallCnt));
    const size_t over = as.jcc_fwd32(kAE);
    size_t stale = 0;
    if (slot.id) {  // the word is current while the arena's id is the one it was resolved from
      as.movabs(R11, reinterpret_cast<uint64_t>(slot.id));
      as.load(4, R10, Mem{R11, 0});
      as.movabs(R11, reinterpret_cast<uint64_t>(slot.seen));
      as.alu_rm(false, kCmp, R10, Mem{R11, 0});
      stale = as.jcc_fwd32(kNE);
    }
    as.movabs(R11, reinterpret_cast<uint64_t>(slot.prog));
    as.load(8, RAX, Mem{R11, 0});
    as.test_rr(true, RAX, RAX);
    const size_t empty = as.jcc_fwd32(kE);  // r0 = 0 already
    as.cmp_m8(Mem{RAX, fields.checked}, opts_.checked ? 1 : 0);
    const size_t other_mode = as.jcc_fwd32(kNE);
    if (opts_.insn_budget <= INT32_MAX) {
      as.alu_mi(true, kCmp, Mem{RAX, fields.budget}, static_cast<int32_t>(opts_.insn_budget));
    } else {
      as.movabs(R11, opts_.insn_budget);
      as.alu_rm(true, kCmp, R11, Mem{RAX, fields.budget});
    }
    const size_t other_budget = as.jcc_fwd32(kNE);
    as.alu_mi(false, kAdd, Mem{kRc, kOffTailCallCnt}, 1);
    as.load(8, R11, Mem{RAX, fields.entry});
    const size_t enter = as.size();
    enter_tail_target();
    as.bind32(over);
    as.bind32(other_mode);
    as.bind32(other_budget);
    as.op_rr(false, 0x31, RAX, RAX);
    as.bind32(empty);
    if (slot.id) stubs_.push_back(Stub{Stub::TailSlot, stale, pc, as.size(), enter, RAX});
  }
  // The indirect tail call of a constant site, for its cold path: rax = the target (ZF: none),
  // r11 = its entry.
  void resolve_tail_call_of(const ProgramFacts::ConstTailCall& c) {
    Assembler& as = a();
    as.mov_imm32(RCX, c.index);
    as.mov_imm64(RDX, c.map);
    as.movabs(RSI, reinterpret_cast<uint64_t>(tables_.self));
    as.mov_rr(true, RDI, kRc);
    call_abs(reinterpret_cast<const void*>(&resolve_tail_call));
    as.mov_rr(true, R11, RDX);
    as.test_rr(true, RAX, RAX);
  }
  const ProgramFacts::ConstTailCall* const_tail_call(uint32_t pc) const {
    auto it =
        std::lower_bound(f_.const_tail_calls.begin(), f_.const_tail_calls.end(), pc,
                         [](const ProgramFacts::ConstTailCall& c, uint32_t p) { return c.pc < p; });
    return it != f_.const_tail_calls.end() && it->pc == pc ? &*it : nullptr;
  }
  // rax = the target, r11 = its entry: leaves this program's frame from any call depth, as its
  // epilogue would, and enters the target with (target, rc, the run's ctx, 0).
  void enter_tail_target() {
    Assembler& as = a();
    as.mov_rr(true, R10, kRc);
    if (needs_frame_) {  // from any call depth: the main frame is below the top of the stack
      as.load(8, RSP, Mem{kRc, kOffStackBase});
      as.alu_rm(true, kAdd, RSP, Mem{kRc, kOffStackSize});
      as.alu_ri(true, kSub, RSP, kHeader + kStackBytes);
    }
    restore_hook(RDX);  // at the main frame's rsp, as the epilogue (r11 holds the entry)
    if (frame_) as.alu_ri(true, kAdd, RSP, frame_);
    for (int i = n_saved_ - 1; i >= 0; --i) as.pop(saved_[i]);
    as.mov_rr(true, RDI, RAX);
    as.mov_rr(true, RSI, R10);
    as.load(8, RDX, Mem{R10, kOffTailCallCtx});
    as.op_rr(false, 0x31, RCX, RCX);
    as.jmp_r(R11);
  }

  // A bpf-to-bpf call: a new 512-byte frame below the caller's, r6..r9 kept for the caller, a
  // fresh may_goto counter.
  void local_call(uint32_t pc, uint32_t callee) {
    Assembler& as = a();
    if (!f_.call_depth_ok[pc]) {
      // Depth: the callee's frame must fit, (top - r10) + 512 < 8 * 512.
      as.load(8, R11, Mem{kRc, kOffStackBase});
      as.alu_rm(true, kAdd, R11, Mem{kRc, kOffStackSize});
      as.alu_rr(true, kSub, R11, RBP);
      as.alu_ri(true, kCmp, R11, kStackBytes - 2 * kFrameBytes);
      jcc_stub(kA, Stub{Stub::Depth, 0, pc, callee, 0, RAX});
    }
    // What the call keeps for its caller: the r6..r9 the callee (or its callees) may write. With
    // the return address (and the may_goto counter), rsp stays 16-byte aligned in the callee.
    Reg saved[4];
    int n_saved = 0;
    for (int r = 6; r <= 9; ++r)
      if (f_.callee_writes[callee] & (1 << r)) saved[n_saved++] = kMap[r];
    const int32_t pad = (n_saved + (f_.may_goto ? 1 : 0) + 1) % 2 ? 8 : 0;
    for (int i = 0; i < n_saved; ++i) as.push(saved[i]);
    if (pad) as.alu_ri(true, kSub, RSP, 8);
    if (f_.may_goto) as.push_imm32(BPFBOX_MAX_LOOPS);
    as.alu_ri(true, kSub, RBP, kFrameBytes);
    if (opts_.checked) call_label(kEnterThunk);
    call_pc(callee);
    as.alu_ri(true, kAdd, RBP, kFrameBytes);
    if (opts_.checked) {  // the callee's frame is gone
      as.alu_mi(true, kAdd, Mem{kRc, kOffStackBase}, kFrameBytes);
      as.alu_mi(true, kSub, Mem{kRc, kOffStackSize}, kFrameBytes);
    }
    if (const int32_t drop = (f_.may_goto ? 8 : 0) + pad) as.alu_ri(true, kAdd, RSP, drop);
    for (int i = n_saved - 1; i >= 0; --i) as.pop(saved[i]);
  }

  void callx(uint32_t pc, Reg dst) {
    Assembler& as = a();
    std::vector<size_t> done;
    // A BPF_PSEUDO_FUNC value: the address of a function's code.
    auto try_function = [&](uint32_t fpc) {
      as.ensure();
      as.movabs(R11, 0);
      relocs_.push_back({as.size() - 8, fpc});
      as.alu_rr(true, kCmp, dst, R11);
      const size_t next = as.jcc_fwd32(kNE);
      local_call(pc, fpc);
      done.push_back(as.jmp_fwd32());
      as.bind32(next);
    };
    if (f_.main_is_callee) try_function(0);
    for (uint32_t fpc : f_.functions) try_function(fpc);
    // Else a helper id.
    as.ensure();
    as.mov_imm64(R11, tables_.n_helpers);
    as.alu_rr(true, kCmp, dst, R11);
    jcc_stub(kAE, Stub{Stub::BadCall, 0, pc, 0, 0, dst});
    as.mov_rr(true, R11, dst);
    as.shift_ri(true, kShl, R11, 3);
    as.movabs(R10, reinterpret_cast<uint64_t>(tables_.helpers));
    as.alu_rr(true, kAdd, R11, R10);
    as.load(8, R11, Mem{R11, 0});
    as.test_rr(true, R11, R11);
    jcc_stub(kE, Stub{Stub::BadCall, 0, pc, 0, 0, dst});
    if (callbacks_) {
      as.load(8, R10, Mem{kRc, kOffEngineState});
      as.store(8, Mem{R10, kRecCallRbp}, RBP);
      as.store_imm(4, Mem{R10, kRecCallPc}, static_cast<int32_t>(pc));
    }
    as.mov_rr(true, R9, kRc);
    as.call_r(R11);
    as.cmp_m8(Mem{kRc, kOffFaultKind}, 0);
    jcc_label(kNE, kExitUnwind);
    for (size_t at : done) as.bind32(at);
  }

  void exit_insn(uint32_t pc) {
    const uint8_t fr = f_.frame[pc];
    if (fr == kInCallee) return a().ret();
    if (fr == kInMain) return epilogue();
    // Reachable in both: the main frame is the one whose r10 is the top of the stack.
    a().load(8, R11, Mem{kRc, kOffStackBase});
    a().alu_rm(true, kAdd, R11, Mem{kRc, kOffStackSize});
    a().alu_rr(true, kCmp, RBP, R11);
    const size_t in_callee = a().jcc_fwd8(kNE);
    epilogue();
    a().bind8(in_callee);
    a().ret();
  }

  // LD_ABS / LD_IND: r0 = the packet bytes at the offset in network order; outside the packet the
  // program ends with r0 = 0.
  void ld_pkt(const isa::Decoded& d, const isa::OpInfo& o, Reg src) {
    Assembler& as = a();
    const uint8_t size = o.size;
    if (o.kind == Kind::LdAbs) {
      if (blind() && d.imm)
        blinded_imm(R9, d.imm);
      else
        as.mov_imm64(R9, static_cast<uint64_t>(static_cast<int64_t>(d.imm)));
    } else {
      as.mov_rr(false, R9, src);
      if (blind() && d.imm) {
        blinded_imm(R10, d.imm);
        as.alu_rr(false, kAdd, R9, R10);
      } else if (d.imm) {
        as.alu_ri(false, kAdd, R9, d.imm);
      }
      as.movsxd(R9, R9);
    }
    as.test_rr(true, R9, R9);
    jcc_label(kS, kExitUnwind);
    as.load(4, R10, Mem{kRc, kOffPktLen});
    as.alu_rr(true, kSub, R10, R9);
    as.alu_ri(true, kCmp, R10, size);
    jcc_label(kL, kExitUnwind);
    as.load(8, R11, Mem{kRc, kOffPktData});
    as.test_rr(true, R11, R11);
    jcc_label(kE, kExitUnwind);
    as.alu_rr(true, kAdd, R11, R9);
    as.load(size, RAX, Mem{R11, 0});
    if (size == 2) {
      as.ror16_8(RAX);
    } else if (size == 4) {
      as.bswap(false, RAX);
    }
  }

  void atomic(const isa::Decoded& d, const isa::OpInfo& o, Reg dst, Reg src) {
    Assembler& as = a();
    const bool w = o.is64;
    const Mem m{dst, d.off};
    const int32_t aop = d.imm;
    switch (aop) {
      case BPF_ADD:
        as.lock(), as.alu_mr(w, kAdd, m, src);
        return;
      case BPF_OR:
        as.lock(), as.alu_mr(w, kOr, m, src);
        return;
      case BPF_AND:
        as.lock(), as.alu_mr(w, kAnd, m, src);
        return;
      case BPF_XOR:
        as.lock(), as.alu_mr(w, kXor, m, src);
        return;
      case BPF_ADD | BPF_FETCH:
        as.lock(), as.xadd(w, m, src);
        return;
      case BPF_XCHG:
        as.xchg(w, m, src);
        return;
      case BPF_CMPXCHG:
        as.lock(), as.cmpxchg(w, m, src);
        if (!w) zext32(RAX);
        return;
      default:
        break;
    }
    // Fetching or/and/xor: a compare-exchange loop with rax as the expected value.
    const AluOp op = (aop & ~BPF_FETCH) == BPF_OR    ? kOr
                     : (aop & ~BPF_FETCH) == BPF_AND ? kAnd
                                                     : kXor;
    as.mov_rr(true, R9, src);
    as.mov_rr(true, R10, RAX);
    const Mem mm{dst == RAX ? R10 : dst, d.off};
    const size_t loop = as.size();
    as.load(w ? 8 : 4, RAX, mm);
    as.mov_rr(true, R11, RAX);
    as.alu_rr(w, op, R11, R9);
    as.lock(), as.cmpxchg(w, mm, R11);
    as.jcc_to(kNE, loop, true);
    if (src == RAX) {
      if (!w) zext32(RAX);
    } else {
      as.mov_rr(w, src, RAX);
      as.mov_rr(true, RAX, R10);
    }
  }

  std::span<const isa::Decoded> prog_;
  const ProgramFacts& f_;
  const HelperTable& helpers_;
  const ExecOptions& opts_;
  const Tuning& t_;
  const ImageTables& tables_;
  uint64_t seed_;
  uint64_t rng_ = 0;

  bool needs_frame_ = false, need_rc_ = false, may_fault_ = false, callbacks_ = false;
  bool calls_helpers_ = false;
  Reg saved_[6] = {};
  int n_saved_ = 0;
  int32_t frame_ = 0;

  Assembler* a_ = nullptr;
  bool relax_ = false;
  int fused_skip_ = 0;  // the next instructions whose code was emitted with this one
  std::vector<size_t> addrs_, prev_;
  uint32_t align_ = 0;                  // loop heads' alignment, 0: none
  std::vector<uint32_t> heads_before_;  // per pc: loop heads at smaller pcs (aligned ones)
  std::vector<PcFixup> pc_fixups_;
  std::vector<LabelFixup> label_fixups_;
  std::vector<Stub> stubs_;
  std::vector<Reloc> relocs_;
  std::vector<LabelReloc> label_relocs_;
  std::vector<AbsCall>* abs_calls_ = nullptr;
  std::vector<size_t> found_;  // the trampoline's jumps to its common path
  size_t labels_[kLabels] = {};
  size_t size_ = 0;
  size_t shrinkable_ = 0;

  // The register whose result the last emitted instruction set ZF from, and in which width.
  struct Flags {
    int reg;
    bool w;
  };
  static constexpr Flags kNoFlags{-1, false};
  Flags flags_ = kNoFlags, prev_flags_ = kNoFlags;
  void set_flags(Reg r, bool w) { flags_ = Flags{r, w}; }
};

}  // namespace

Status translate(std::span<const isa::Decoded> prog, const ProgramFacts& facts,
                 const HelperTable& helpers, const ExecOptions& opts, const Tuning& tuning,
                 const ImageTables& tables, Image& out) {
  uint64_t seed = tuning.blind_seed;
  if (opts.blind_constants && seed == 0 && getrandom(&seed, sizeof seed, 0) != sizeof seed)
    return Status(EIO, "jit: no randomness for constant blinding");
  Emitter e(prog, facts, helpers, opts, tuning, tables, seed);
  out.code.resize(std::max(out.code.capacity(), prog.size() * 16 + 1024));
  out.passes = 0;
  for (int p = 0; p < tuning.max_passes; ++p) {
    const bool relax = tuning.short_jumps && p > 0;
    ++out.passes;
    if (!e.pass(out, relax)) {
      // A relaxed jump no longer fits (cannot happen while sizes only shrink): go all-long.
      ++out.passes;
      if (!e.pass(out, false)) return Status(EFAULT, "jit: layout failed");
      break;
    }
    if (!tuning.short_jumps || e.shrinkable() == 0) break;
  }
  out.code.resize(e.size());
  out.insn_offsets.assign(e.insn_offsets().begin(), e.insn_offsets().end());
  return Status::ok();
}

}  // namespace bpfbox::vm::jit::x86_64
