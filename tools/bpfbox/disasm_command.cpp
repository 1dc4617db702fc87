// `bpfbox disasm FILE`: raw instructions to the kernel verifier log's listing, "N: (code) text".
#include <cstdio>
#include <memory>

#include "command_error.hpp"
#include "commands.hpp"
#include "isa/decoder.hpp"
#include "isa/disasm.hpp"
#include "program_file.hpp"

namespace bpfbox::cli {
namespace {

void run_disasm(const std::string& path) {
  const std::vector<isa::Insn> prog = load_program(path);
  const std::string listing = isa::disassemble_program(prog);
  std::fwrite(listing.data(), 1, listing.size(), stdout);
  std::fflush(stdout);
  // The listing shows what does not decode as "invalid"; the exit status says so too.
  for (size_t pc = 0; pc < prog.size(); ++pc) {
    isa::Decoded d;
    const Status st = isa::decode(prog, pc, d);
    if (!st) throw CommandError(path + ": " + st.message());
    pc += d.slots > 1 ? d.slots - 1 : 0;
  }
}

}  // namespace

void add_disasm_command(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(
      "disasm", "Print a program as the kernel's verifier log does: 'N: (code) text'");
  cmd->add_option("FILE", *path, "Raw instructions (or assembly text, which is assembled first)")
      ->required();
  cmd->callback([path] { run_disasm(*path); });
}

}  // namespace bpfbox::cli
