// `bpfbox disasm FILE`: raw instructions to the kernel verifier log's listing, "N: (code) text".
#include <cstdio>

#include "command_error.hpp"
#include "commands.hpp"
#include "isa/decoder.hpp"
#include "isa/disasm.hpp"
#include "program_file.hpp"

namespace bpfbox::cli {

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

}  // namespace bpfbox::cli
