// `bpfbox conformance-plugin [MEM]`: the bpf_conformance runner's plugin protocol. The program
// arrives on stdin as hex bytes ("b7  00  00 ..."), the memory as one argument of hex bytes; r0
// goes to stdout in hex, failures to stderr with a non-zero exit.
#include <cinttypes>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <memory>

#include "command_error.hpp"
#include "commands.hpp"
#include "execute.hpp"
#include "hex.hpp"
#include "program_file.hpp"

namespace bpfbox::cli {
namespace {

struct PluginOptions {
  std::string mem;
  std::string engine = "interp";
  bool unchecked = false;
  CLI::App* cmd = nullptr;
};

void run_plugin(const PluginOptions& o) {
  // Older runners pass an empty memory or options argument; anything else unexpected is an error.
  for (const std::string& extra : o.cmd->remaining())
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

}  // namespace

void add_conformance_plugin_command(CLI::App& app) {
  auto opts = std::make_shared<PluginOptions>();
  CLI::App* cmd = app.add_subcommand(
      "conformance-plugin",
      "Run one program for the bpf_conformance runner: hex bytes on stdin, MEM as hex bytes, "
      "r0 in hex on stdout");
  opts->cmd = cmd;
  cmd->add_option("MEM", opts->mem, "The program's memory as hex bytes ('00  01  ff')");
  cmd->add_option("--engine", opts->engine, "interp or jit")
      ->check(CLI::IsMember({"interp", "jit"}))
      ->capture_default_str();
  cmd->add_flag("--unchecked", opts->unchecked,
                "Run without bounds checks (faster; a wild access crashes the plugin)");
  cmd->allow_extras();
  cmd->callback([opts] { run_plugin(*opts); });
}

}  // namespace bpfbox::cli
