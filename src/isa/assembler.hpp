// The assembler: the kernel log's syntax (what disassemble() prints, plus labels) and the
// bpf_conformance suite's syntax ("mov %r0, 1", "jeq %r1, 0, +1", "lock fetch add [%r10-8], %r1").
#pragma once

#include <string_view>
#include <vector>

#include "bpfbox/status.hpp"
#include "isa/insn.hpp"

namespace bpfbox::isa {

enum class Syntax { Auto, Kernel, Conformance };

// Assembles a program, one instruction per line; `#`, `//` and `;` start comments, `name:` defines
// a label. EINVAL with "line N: ..." on the first error. Auto picks the syntax per line.
Result<std::vector<Insn>> assemble(std::string_view text, Syntax syntax = Syntax::Auto);

}  // namespace bpfbox::isa
