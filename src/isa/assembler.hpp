// The assembler: the kernel log's syntax (what disassemble() prints, plus labels) and the
// bpf_conformance suite's syntax ("mov %r0, 1", "jeq %r1, 0, +1", "lock fetch add [%r10-8], %r1").
//
// Kernel syntax: every form disasm.hpp lists reads back bit for bit, and a little more:
//   - the verifier log's "12: (b7) " prefix and "; state" tail are ignored, so a listing from
//     disassemble_program() or a log reads back as is;
//   - constants: "r1 = 5" (decimal) is a mov, "r1 = 0x5" (hex, as the kernel prints 64-bit
//     loads) or "r1 = 5 ll" is a two-slot lddw; a decimal beyond the signed 32-bit range needs
//     "ll". "w1 = 0xffffffff" is a 32-bit mov;
//   - LLVM's spellings: w registers in narrow loads/stores/atomics ("w0 = *(u16 *)(r1 + 2)");
//   - jump and call targets: "pc+N", "pc-N", "+N", "-N" or a label; "call NAME" is a kernel
//     helper when NAME is one, else a bpf-to-bpf call to the label NAME; "call NAME#ID" takes the
//     id (and refuses a kernel helper name with another id).
// Conformance syntax: the mnemonics of ops.def's column (plus "swap16/32/64" for bswap),
// "call N" (helper), "call local L", "call runtime N" (kfunc), "call %rN" (callx),
// "ldabsw 12", "ldindw %r3, 4"; a jump to "exit" with no such label goes to the first exit
// instruction, as the suite's own assembler does. load_acquire/store_release have no
// conformance form: write them in the kernel syntax.
// Numbers are decimal or 0x hex, optionally signed; a 32-bit field takes -2^31 .. 2^32-1 (stored
// as its low 32 bits), offsets -32768 .. 32767.
#pragma once

#include <string_view>
#include <vector>

#include "bpfbox/status.hpp"
#include "isa/insn.hpp"

namespace bpfbox::isa {

enum class Syntax { Auto, Kernel, Conformance };

// Assembles a program, one instruction per line; `//`, `;` and `#` (at the start of a line or after
// a space, so "call f#1" keeps it) start comments, `name:` defines a label. EINVAL with "line N:
// ..." on the first error. Auto picks the syntax per line: a `%r` operand or a conformance mnemonic
// as the first word means the conformance syntax.
Result<std::vector<Insn>> assemble(std::string_view text, Syntax syntax = Syntax::Auto);

}  // namespace bpfbox::isa
