#include "case_program.hpp"

#include <cerrno>
#include <cstring>

#include "isa/assembler.hpp"

namespace bpfbox::conformance {

Result<std::vector<isa::Insn>> assemble_case(const DataFile& file) {
  if (file.asm_text.empty()) return Status(EINVAL, "no assembly");
  return isa::assemble(file.asm_text, isa::Syntax::Conformance);
}

Result<std::vector<isa::Insn>> case_program(const DataFile& file) {
  if (!file.raw) return assemble_case(file);
  std::vector<isa::Insn> prog(file.raw->size());
  for (size_t i = 0; i < prog.size(); ++i) std::memcpy(&prog[i], &(*file.raw)[i], sizeof prog[i]);
  return prog;
}

}  // namespace bpfbox::conformance
