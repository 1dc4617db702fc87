// `bpfbox asm FILE [-o OUT]`: assembly text (kernel or conformance syntax) to raw instructions.
#include <filesystem>

#include "command_error.hpp"
#include "commands.hpp"
#include "isa/assembler.hpp"
#include "program_file.hpp"

namespace bpfbox::cli {

void run_asm(const AsmOptions& o) {
  const std::vector<uint8_t> bytes = read_file(o.input);
  if (is_raw_program(bytes))
    throw CommandError(o.input + ": holds raw instructions, not assembly text");
  const std::string text(bytes.begin(), bytes.end());
  auto prog = isa::assemble(text, isa::Syntax::Auto);
  if (!prog) throw CommandError(o.input + ": " + prog.status().message());
  if (prog->empty()) throw CommandError(o.input + ": empty program");

  std::string out = o.output;
  if (out.empty()) {
    out = std::filesystem::path(o.input).replace_extension(".bin").string();
    if (out == o.input) throw CommandError(o.input + ": give -o, the default output is the input");
  }
  write_file(out, as_bytes(*prog));
}

}  // namespace bpfbox::cli
