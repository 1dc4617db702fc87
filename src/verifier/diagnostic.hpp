// The structured explanation of a refusal (bpfbox::verifier::Diagnostic): beyond the kernel's log
// line, which rule was broken, at which pc, the registers involved with their ranges, the path that
// led there and a concrete hint. Every error site that knows more than its message records it
// here, right after its env.verbose() of the kernel's message:
//
//   verbose(env, "invalid access to map value, value_size=%d off=%d size=%d\n", ...);
//   explain(env, Rule::MapValueBounds).reg(regno).access(off, size, value_size);
//   return Status(EACCES, ...);
//
// The first explain() of a verification wins (later ones, e.g. from a caller that adds context,
// only fill what is still empty). verify() completes the rest: the message (the last line the log
// received before the error), the pc when no one gave it, the path, and a hint derived from the
// rule and the recorded facts when the site gave none.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "verifier/state.hpp"

namespace bpfbox::verifier {

struct Env;

// The rules a program can break. rule_name() gives the stable string of Diagnostic::rule.
enum class Rule : uint8_t {
  None,
  // Structure (the front): EINVAL / E2BIG before any path is explored.
  ProgramSize,      // "program_size": more instructions than the loader allows
  BadInsn,          // "bad_insn": unknown opcode, reserved fields, bad register
  BadLdImm64,       // "bad_ld_imm64": lddw pseudo source, map fd, second slot
  JumpOutOfRange,   // "jump_out_of_range": a jump or call leaves its subprogram / the program
  FallOffEnd,       // "fall_off_end": the last instruction is not an exit or a jump
  Unreachable,      // "unreachable": an instruction no path reaches
  JumpIntoLdImm64,  // "jump_into_ld_imm64"
  BackEdge,         // "back_edge": a loop where loops are not allowed (unprivileged)
  BadOptions,       // "bad_options": log level/size, flags
  // Registers and values (the core).
  UninitRegister,     // "uninit_register": R%d !read_ok
  FramePointerWrite,  // "frame_pointer_write": frame pointer is read only
  PointerArithmetic,  // "pointer_arithmetic": prohibited or unbounded pointer arithmetic
  PointerLeak,        // "pointer_leak": a pointer stored/returned/compared where it may leak
  // Memory.
  UninitStack,       // "uninit_stack": invalid read from stack
  StackBounds,       // "stack_bounds": invalid stack access off/size
  MapValueBounds,    // "map_value_bounds": outside [0, value_size)
  PacketBounds,      // "packet_bounds": beyond the range learnt from data_end
  CtxAccess,         // "ctx_access": an offset/size the program type does not allow
  NullDeref,         // "null_deref": a maybe-null pointer used before its null check
  InvalidMemAccess,  // "invalid_mem_access": a scalar or other non-pointer dereferenced
  Misaligned,        // "misaligned": strict alignment
  ReadOnly,          // "read_only": a write to read-only memory
  // Calls.
  UnknownHelper,   // "unknown_helper": unknown func or not allowed for the program type
  HelperArgument,  // "helper_argument": R%d type=%s expected=%s, sizes, map compatibility
  CallDepth,       // "call_depth": more than 8 frames
  StackDepth,      // "stack_depth": combined stack of a call chain > 512
  UnreleasedRef,   // "unreleased_ref": a reference not released on some path
  SpinLock,        // "spin_lock": misuse of bpf_spin_lock
  BtfInfo,         // "btf_info": the program's BTF, func_info or line_info, global function args
  // Control.
  InfiniteLoop,  // "infinite_loop"
  Complexity,    // "complexity": more than 1,000,000 instructions processed
  ReturnValue,   // "return_value": r0 at exit outside the program type's range
  Privilege,     // "privilege": refused only because the load is unprivileged
  Other,         // "other": any refusal without a more precise rule
};

const char* rule_name(Rule rule);

// What the error sites recorded (Env::refusal), completed into the Diagnostic by verify().
struct RefusalFacts {
  Rule rule = Rule::None;
  bool has_pc = false;
  uint32_t pc = 0;
  std::vector<std::string> registers;  // describe_reg() of each register named
  std::vector<RegState> reg_states;    // the same registers, for the hint
  std::vector<int> regnos;
  bool has_access = false;
  int64_t access_off = 0;
  uint32_t access_size = 0;
  uint64_t mem_size = 0;
  std::string hint;
  bool has_path = false;
  std::vector<uint32_t> path;
  std::string last_line;     // the last complete line Env::verbose() wrote (the kernel's message)
  std::string partial_line;  // what Env::verbose() wrote since the last newline
};

// The builder explain() returns: each call records one fact and returns *this.
class Explain {
 public:
  Explain(Env& env, bool active) : env_(env), active_(active) {}

  // The instruction the refusal is about (default: the current state's insn_idx).
  Explain& at(uint32_t pc);
  // A register of the current frame, with its type and ranges as the log prints them.
  Explain& reg(int regno);
  // A register given explicitly (a spilled one, or one of another frame).
  Explain& reg(int regno, const RegState& r);
  // The access that failed: off and size as the instruction asked, mem_size the size of the memory
  // (value_size, the packet range, ctx size, 512 for the stack); lets the hint name the bound.
  Explain& access(int64_t off, uint32_t size, uint64_t mem_size);
  // A hint written by the error site itself (else one is derived from the rule and the facts).
  Explain& hint(std::string text);
  // The path, when the site knows it better than the default (the failing state's history).
  Explain& path(std::vector<uint32_t> pcs);

 private:
  Env& env_;
  bool active_;  // false when an earlier explain() already recorded the refusal
};

// Starts (or, when a rule is already recorded, quietly ignores) the explanation of a refusal.
Explain explain(Env& env, Rule rule);

// A register as the diagnostic lists it: "R1 map_value(map=m,vs=64,off=0,smin=0,smax=255)".
std::string describe_reg(int regno, const RegState& r);

// Called by verify() once the refusal is final: fills message, pc, path and hint where the error
// site left them empty, using the log text and the program.
void finish_diagnostic(Env& env, int err);

}  // namespace bpfbox::verifier
