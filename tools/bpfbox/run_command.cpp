// `bpfbox run FILE`: runs a program (raw or assembly) on the given memory and prints r0.
#include <cinttypes>
#include <cstdio>
#include <memory>

#include "command_error.hpp"
#include "commands.hpp"
#include "execute.hpp"
#include "hex.hpp"
#include "program_file.hpp"

namespace bpfbox::cli {
namespace {

struct RunOptions {
  std::string path;
  std::string mem_hex;
  std::string mem_file;
  std::string engine = "interp";
  bool checked = false;
  uint64_t budget = 0;
};

void run_run(const RunOptions& o) {
  const std::vector<isa::Insn> prog = load_program(o.path);
  std::vector<uint8_t> mem;
  if (!o.mem_file.empty()) {
    mem = read_file(o.mem_file);
  } else if (!o.mem_hex.empty()) {
    std::string error;
    auto bytes = parse_hex_bytes(o.mem_hex, &error);
    if (!bytes) throw CommandError("--mem: " + error);
    mem = std::move(*bytes);
  }
  ExecuteOptions exec;
  exec.engine = engine_from_name(o.engine);
  exec.checked = o.checked;
  exec.budget = o.budget;
  const uint64_t r0 = execute(prog, mem, exec, o.path);
  std::printf("0x%" PRIx64 "\n", r0);
}

}  // namespace

void add_run_command(CLI::App& app) {
  auto opts = std::make_shared<RunOptions>();
  CLI::App* cmd = app.add_subcommand(
      "run",
      "Run a program and print r0 in hex. FILE is raw instructions when it holds a NUL byte "
      "(every raw program does), else assembly text. r1 points to the memory, r2 is its length.");
  cmd->add_option("FILE", opts->path, "The program, raw or assembly")->required();
  CLI::Option* mem = cmd->add_option("--mem", opts->mem_hex,
                                     "Memory as hex bytes in order: '01 02 ff' or '0102ff'");
  CLI::Option* mem_file =
      cmd->add_option("--mem-file", opts->mem_file, "Memory: the bytes of this file");
  mem->excludes(mem_file);
  cmd->add_option("--engine", opts->engine, "interp or jit")
      ->check(CLI::IsMember({"interp", "jit"}))
      ->capture_default_str();
  cmd->add_flag("--checked", opts->checked,
                "Bounds-check every access (stack and memory only) and report a fault");
  cmd->add_option("--budget", opts->budget, "Stop with a fault after N instructions (0: none)");
  cmd->callback([opts] { run_run(*opts); });
}

}  // namespace bpfbox::cli
