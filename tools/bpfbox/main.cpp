// bpfbox: a thin command line over the library. This file is the grammar (CLI11); each command
// runs from its own file (commands.hpp).
#include <cstdio>
#include <memory>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "bpftool_common.hpp"
#include "command_error.hpp"
#include "commands.hpp"

namespace bpfbox::cli {
namespace {

void add_asm(CLI::App& app) {
  auto o = std::make_shared<AsmOptions>();
  CLI::App* cmd = app.add_subcommand(
      "asm", "Assemble a program into raw little-endian 8-byte instruction words");
  cmd->add_option("FILE", o->input, "Assembly text, kernel (r0 = 1) or conformance syntax")
      ->required();
  cmd->add_option("-o,--output", o->output, "Output file (default: FILE with .bin)");
  cmd->callback([o] { run_asm(*o); });
}

void add_disasm(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(
      "disasm", "Print a program as the kernel's verifier log does: 'N: (code) text'");
  cmd->add_option("FILE", *path, "Raw instructions (or assembly text, which is assembled first)")
      ->required();
  cmd->callback([path] { run_disasm(*path); });
}

void add_run(CLI::App& app) {
  auto o = std::make_shared<RunOptions>();
  CLI::App* cmd = app.add_subcommand(
      "run",
      "Run a program and print r0 in hex. FILE is raw instructions when it holds a NUL byte "
      "(every raw program does), else assembly text. r1 points to the memory, r2 is its length.");
  cmd->add_option("FILE", o->path, "The program, raw or assembly")->required();
  CLI::Option* mem =
      cmd->add_option("--mem", o->mem_hex, "Memory as hex bytes in order: '01 02 ff' or '0102ff'");
  CLI::Option* mem_file = cmd->add_option("--mem-file", o->mem_file, "Memory: the bytes of a file");
  mem->excludes(mem_file);
  cmd->add_option("--engine", o->engine,
                  "interp, jit, llvm, tiered (jit, then llvm once hot) or default "
                  "(BPFBOX_ENGINE, else jit)")
      ->check(CLI::IsMember({"interp", "jit", "llvm", "tiered", "default"}))
      ->capture_default_str();
  cmd->add_flag("--checked", o->checked,
                "Bounds-check every access (stack and memory only) and report a fault");
  cmd->add_option("--budget", o->budget, "Stop with a fault after N instructions (0: none)");
  cmd->add_flag("--jit-harden", o->jit_harden,
                "Constant blinding, as net.core.bpf_jit_harden: no immediate of the program in "
                "the machine code (jit engine; BPFBOX_JIT_HARDEN=2 does it for every jit run)");
  cmd->callback([o] { run_run(*o); });
}

void add_conformance_plugin(CLI::App& app) {
  auto o = std::make_shared<PluginOptions>();
  CLI::App* cmd = app.add_subcommand(
      "conformance-plugin",
      "Run one program for the bpf_conformance runner: hex bytes on stdin, MEM as hex bytes, "
      "r0 in hex on stdout");
  cmd->add_option("MEM", o->mem, "The program's memory as hex bytes ('00  01  ff')");
  cmd->add_option("--engine", o->engine,
                  "interp, jit, llvm, tiered (jit, then llvm once hot) or default "
                  "(BPFBOX_ENGINE, else jit)")
      ->check(CLI::IsMember({"interp", "jit", "llvm", "tiered", "default"}))
      ->capture_default_str();
  cmd->add_flag("--unchecked", o->unchecked,
                "Run without bounds checks (faster; a wild access crashes the plugin)");
  cmd->allow_extras();
  cmd->callback([o, cmd] {
    o->extras = cmd->remaining();
    run_conformance_plugin(*o);
  });
}

void add_verify(CLI::App& app) {
  auto o = std::make_shared<VerifyOptions>();
  CLI::App* cmd = app.add_subcommand(
      "verify",
      "Verify a program as the kernel would load it: the log, the verdict and, for a refusal, "
      "the rule, registers, path and a hint (exit status 1 when refused)");
  cmd->add_option("FILE", o->path, "The program, raw or assembly")->required();
  cmd->add_option("--type", o->type, "Program type")
      ->check(CLI::IsMember({"socket_filter", "sched_cls", "sched_act", "xdp"}))
      ->capture_default_str();
  cmd->add_flag("--unprivileged", o->unprivileged, "Verify with the unprivileged rules");
  cmd->add_option("--log-level", o->log_level, "The verifier log level (0, 1, 2; +4 stats)")
      ->capture_default_str();
  cmd->add_flag("--json", o->json, "Print the verdict, log and diagnostic as JSON");
  cmd->add_option(
      "--map", o->maps,
      "A map for map[fd:N] (the N-th --map): TYPE:KEY:VALUE:ENTRIES, e.g. array:4:64:1");
  cmd->callback([o] { run_verify(*o); });
}

void add_jit_dump(CLI::App& app) {
  auto o = std::make_shared<JitDumpOptions>();
  CLI::App* cmd = app.add_subcommand(
      "jit-dump",
      "Compile a program with the JIT and print its x86-64 code under each eBPF instruction");
  cmd->add_option("FILE", o->path, "The program, raw or assembly")->required();
  cmd->add_flag("--checked", o->checked, "Compile in checked mode (bounds-checked accesses)");
  cmd->add_flag("--opcodes", o->opcodes, "Also print each native instruction's bytes");
  cmd->callback([o] { run_jit_dump(*o); });
}

// A bpftool command fails with bpftool's exit status: 255, or the one the command chose.
template <class F>
void as_bpftool(F f) {
  try {
    f();
  } catch (const CommandError& e) {
    if (e.exit_code() != 1) throw;
    throw CommandError(e.what(), kBpftoolFailure);
  } catch (const std::exception& e) {
    throw CommandError(e.what(), kBpftoolFailure);
  }
}

void add_prog(CLI::App& app) {
  auto engine = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(
      "prog",
      "bpftool's prog commands with libbpf as the loader: '{show | list} [PROG]', 'dump {xlated "
      "| jited} PROG [opcodes] [linum]', 'pin PROG FILE', 'load OBJ PATH [type TYPE] [pinmaps "
      "DIR]', 'loadall OBJ DIR [type TYPE] [pinmaps DIR]', 'run {OBJ.o [section SEC | name "
      "PROG] | PINNED | PROG} {data_in F [data_out F] [ctx_in F] [ctx_out F] [repeat N] | pcap "
      "IN.pcap [out OUT.pcap]}'; PROG is 'id N', 'pinned PATH', 'tag T' or 'name N'");
  cmd->add_option("--engine", *engine, "interp, jit or llvm (for programs this command loads)")
      ->check(CLI::IsMember({"interp", "jit", "llvm"}));
  cmd->allow_extras();
  cmd->callback([engine, cmd] {
    as_bpftool([&] { run_prog(take_output_options(cmd->remaining()), *engine); });
    finish_output();
  });
}

void add_map(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand(
      "map",
      "bpftool's map commands: '{show | list} [MAP]', 'dump MAP', 'lookup MAP key DATA', "
      "'update MAP key DATA value VALUE [any | exist | noexist]', 'delete MAP key DATA', "
      "'getnext MAP [key DATA]', 'pin MAP FILE', 'freeze MAP', 'create FILE type TYPE key KEY "
      "value VALUE entries N name NAME [flags F] [inner_map MAP]', '{peek | pop | dequeue} MAP', "
      "'{push | enqueue} MAP value VALUE [exist]'; MAP is 'id N', 'pinned PATH' "
      "or 'name N'; DATA is bytes ('1 0 0 0', or 'hex 01 00 00 00')");
  cmd->allow_extras();
  cmd->callback([cmd] {
    as_bpftool([&] { run_map(take_output_options(cmd->remaining())); });
    finish_output();
  });
}

void add_btf(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand(
      "btf",
      "bpftool's btf commands: '{show | list} [id N]', 'dump {id N | map MAP [key | value | kv | "
      "all] | prog PROG | file FILE} [format {raw | c}]'");
  cmd->allow_extras();
  cmd->callback([cmd] {
    as_bpftool([&] { run_btf(take_output_options(cmd->remaining())); });
    finish_output();
  });
}

void add_link(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand(
      "link",
      "bpftool's link commands: '{show | list} [LINK]', 'pin LINK FILE', 'detach LINK'; LINK is "
      "'id N' or 'pinned PATH'");
  cmd->allow_extras();
  cmd->callback([cmd] {
    as_bpftool([&] { run_link(take_output_options(cmd->remaining())); });
    finish_output();
  });
}

}  // namespace
}  // namespace bpfbox::cli

int main(int argc, char** argv) {
  CLI::App app{"bpfbox: the Linux eBPF subsystem in user space"};
  app.set_version_flag("--version", "bpfbox " BPFBOX_VERSION);
  app.require_subcommand(1);
  // Usage errors are one line, like every other error.
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return std::string(e.what()) + " (see --help)\n";
  });
  bpfbox::cli::add_asm(app);
  bpfbox::cli::add_disasm(app);
  bpfbox::cli::add_run(app);
  bpfbox::cli::add_conformance_plugin(app);
  bpfbox::cli::add_jit_dump(app);
  bpfbox::cli::add_verify(app);
  bpfbox::cli::add_prog(app);
  bpfbox::cli::add_map(app);
  bpfbox::cli::add_btf(app);
  bpfbox::cli::add_link(app);
  // bpftool's output options, before the command ("bpfbox -p map show") or after it.
  app.add_flag_callback(
      "-j,--json", [] { bpfbox::cli::output().json = true; },
      "JSON output (prog, map, btf, link), as bpftool's");
  app.add_flag_callback(
      "-p,--pretty", [] { bpfbox::cli::output().json = bpfbox::cli::output().pretty = true; },
      "Human-readable JSON output (prog, map, btf, link), as bpftool's");
  app.add_flag_callback(
      "-f,--bpffs", [] { bpfbox::cli::output().bpffs = true; },
      "Show the pinned paths of programs, maps and links (prog, map, link show), as bpftool's");

  // Run as bpfbox-conformance-plugin (a link the build makes beside bpfbox), bpfbox is the plugin:
  // the public runner passes only "[MEM] [options...]" and cannot name a subcommand.
  std::vector<char*> args(argv, argv + argc);
  const std::string_view self(argv[0]);
  const std::string_view base = self.substr(self.find_last_of('/') + 1);
  char plugin_command[] = "conformance-plugin";
  if (base == "bpfbox-conformance-plugin") args.insert(args.begin() + 1, plugin_command);

  try {
    app.parse(static_cast<int>(args.size()), args.data());
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    std::fputs("bpfbox: ", stderr);
    app.exit(e);
    return 2;
  } catch (const bpfbox::cli::CommandError& e) {
    // No message: the command printed its answer and fails ("Not found", "Error: empty map"; null
    // with -j): the JSON ends with its newline, as bpftool's writer ends at exit.
    if (*e.what())
      bpfbox::cli::print_error(e.what());
    else
      bpfbox::cli::finish_output();
    return e.exit_code();
  } catch (const std::exception& e) {
    bpfbox::cli::print_error(e.what());
    return 1;
  }
  return 0;
}
