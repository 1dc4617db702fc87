// One parsed instruction before labels are resolved, and the two syntaxes' line parsers.
// Internal to src/isa.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "isa/asm_lexer.hpp"
#include "isa/insn.hpp"

namespace bpfbox::isa::asm_detail {

struct Parsed {
  Insn insn{};        // the first (or only) slot; a literal pc-relative target is already in it
  bool wide = false;  // lddw: insn.imm is the low half of imm64, `hi` the upper one
  uint32_t hi = 0;
  // A target given as a label, resolved once every label is known: into off (jumps) or imm
  // (gotol, local calls, subprog loads).
  enum class Field : uint8_t { None, Off, Imm } field = Field::None;
  std::string label;
  bool conformance = false;  // which syntax the line used, for the hint on a too-far jump
};

// Each parser reads one instruction from the cursor (labels and pc prefixes already taken off)
// and throws AsmError when the line is not an instruction of that syntax.
Parsed parse_kernel_line(Cursor& c);
Parsed parse_conformance_line(Cursor& c);

// Shared by both syntaxes.
// "call 5", "call bpf_map_lookup_elem#1", "call pc+3", "call local f", "call %r2", ...
Parsed parse_call(Cursor& c);
// A jump target: "pc+3", "+3", "-3", "3" or a label; writes off/imm or records the label.
void parse_target(Cursor& c, Parsed& p, Parsed::Field field);
// The opcode built from fields must be one the ISA has.
void require_valid(const Insn& insn, std::string_view what);
// The conformance mnemonics (ops.def's column plus aliases), to tell the syntaxes apart.
bool is_conformance_mnemonic(std::string_view word);

}  // namespace bpfbox::isa::asm_detail
