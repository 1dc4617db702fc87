// `bpfbox conformance-plugin [MEM]`: the bpf_conformance runner's plugin protocol. The program
// arrives on stdin as hex bytes ("b7  00  00 ..."), the memory as one argument of hex bytes; r0
// goes to stdout in hex, failures to stderr with a non-zero exit.
#include <cinttypes>
#include <cstdio>
#include <iostream>
#include <iterator>

#include "command_error.hpp"
#include "commands.hpp"
#include "execute.hpp"
#include "hex.hpp"
#include "program_file.hpp"

namespace bpfbox::cli {

void run_conformance_plugin(const PluginOptions& o) {
  // Older runners pass an empty memory or options argument; anything else unexpected is an error.
  for (const std::string& extra : o.extras)
    if (extra.find_first_not_of(" \t") != std::string::npos)
      throw CommandError("unexpected argument '" + extra + "'");

  const std::string text((std::istreambuf_iterator<char>(std::cin)),
                         std::istreambuf_iterator<char>());
  std::string error;
  auto code = parse_hex_bytes(text, &error);
  if (!code) throw CommandError("program on stdin: " + error);
  const std::vector<isa::Insn> prog = raw_program(*code, "program on stdin");

  auto mem = parse_hex_bytes(o.mem, &error);
  if (!mem) throw CommandError("memory argument: " + error);

  ExecuteOptions exec;
  exec.engine = engine_from_name(o.engine);
  exec.checked = !o.unchecked;
  const uint64_t r0 = execute(prog, *mem, exec, "program");
  std::printf("0x%" PRIx64 "\n", r0);
}

}  // namespace bpfbox::cli
