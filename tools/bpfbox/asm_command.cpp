// `bpfbox asm FILE [-o OUT]`: assembly text (kernel or conformance syntax) to raw instructions.
#include <filesystem>
#include <memory>

#include "command_error.hpp"
#include "commands.hpp"
#include "isa/assembler.hpp"
#include "program_file.hpp"

namespace bpfbox::cli {
namespace {

struct AsmOptions {
  std::string input;
  std::string output;
};

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

}  // namespace

void add_asm_command(CLI::App& app) {
  auto opts = std::make_shared<AsmOptions>();
  CLI::App* cmd = app.add_subcommand(
      "asm", "Assemble a program into raw little-endian 8-byte instruction words");
  cmd->add_option("FILE", opts->input, "Assembly text, kernel (r0 = 1) or conformance syntax")
      ->required();
  cmd->add_option("-o,--output", opts->output, "Output file (default: FILE with .bin)");
  cmd->callback([opts] { run_asm(*opts); });
}

}  // namespace bpfbox::cli
