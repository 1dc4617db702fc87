// What the translator needs to know about a whole program before emitting a byte: which registers
// it touches, where functions start, in which frames each instruction can run, and where the
// instruction budget must be checked.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "bpfbox/status.hpp"
#include "isa/decoder.hpp"
#include "isa/reg_effects.hpp"

namespace bpfbox::vm::jit::x86_64 {

// In which frames an instruction can execute: decides what `exit` compiles to.
enum FrameKind : uint8_t { kInMain = 1, kInCallee = 2 };

struct ProgramFacts {
  uint16_t regs_used = 0;     // bit i: ri is read or written somewhere
  uint16_t regs_written = 0;  // bit i: ri is written somewhere (never r10: refused)
  // bit i: ri is live at entry (some path may read it before writing it), so the prologue must
  // zero it (the interpreter starts every register but r1, r2, r10 at zero).
  uint16_t read_before_written = 0x7ff;
  bool uses_stack = false;  // r10 is referenced
  bool helper_calls = false;
  bool calls_not_12 = false;  // a helper call other than `call 12` (bpf_tail_call, for the JIT)
  bool local_calls = false;   // bpf-to-bpf calls (or BPF_PSEUDO_FUNC values a callx may use)
  bool callx = false;
  bool pseudo_func = false;  // a BPF_PSEUDO_FUNC value is loaded (a helper may call it back)
  bool may_goto = false;
  bool ld_pkt = false;               // LD_ABS / LD_IND
  bool main_is_callee = false;       // pc 0 is also the target of a call or BPF_PSEUDO_FUNC load
  std::vector<uint8_t> frame;        // per pc: FrameKind bits
  std::vector<uint8_t> is_function;  // per pc: 1 at pc 0 and every call / BPF_PSEUDO_FUNC target
  std::vector<uint32_t> functions;   // the pcs with is_function set, pc 0 excluded
  std::vector<uint8_t> is_target;    // per pc: reached by a jump or call (flags unknown there)
  std::vector<uint8_t> loop_head;    // per pc: the target of a backward jump (aligned code)
  // Budget mode: per pc, the number of instructions of the segment starting here (0 inside a
  // segment). A segment ends at control flow and after every instruction with an effect that
  // outlives a fault (stores, atomics, calls, packet loads, checked loads).
  std::vector<uint32_t> segment_len;
  // Per pc of a bpf-to-bpf call or callx: 1 when every way of reaching it leaves room for one
  // more frame (the call graph from the main program bounds the depth), so the call needs no
  // run-time depth check. Callbacks a helper may start at any depth and recursion get none.
  std::vector<uint8_t> call_depth_ok;
  // Per pc of a function entry (local_calls only): the r6..r9 (bits 6..9) that the function or
  // anything it calls may write, all that a call to it must keep for its caller.
  std::vector<uint16_t> callee_writes;
  // `call 12` sites whose r2 (the map) and r3 (the index) hold the same constants on every path:
  // both set in the straight-line code before the call (what the kernel's verifier records as
  // map_key_state from its path walk, here provable without the verifier). By pc.
  struct ConstTailCall {
    uint32_t pc;
    uint64_t map;
    uint32_t index;
  };
  std::vector<ConstTailCall> const_tail_calls;
};

// Facts about the program the translator needs (register use, frames, targets). The program has
// already passed vm::check_executable_form.
Result<ProgramFacts> analyze(std::span<const isa::Decoded> prog, bool checked, bool budget);

using isa::reg_effects;

}  // namespace bpfbox::vm::jit::x86_64
