// bpfbox: a thin command line over the library. Each command group lives in its own file.
#include <cstdio>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "command_error.hpp"
#include "commands.hpp"

int main(int argc, char** argv) {
  CLI::App app{"bpfbox: the Linux eBPF subsystem in user space"};
  app.set_version_flag("--version", "bpfbox " BPFBOX_VERSION);
  app.require_subcommand(1);
  // Usage errors are one line, like every other error.
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return std::string(e.what()) + " (see --help)\n";
  });
  bpfbox::cli::add_asm_command(app);
  bpfbox::cli::add_disasm_command(app);
  bpfbox::cli::add_run_command(app);
  bpfbox::cli::add_conformance_plugin_command(app);

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
    std::fprintf(stderr, "bpfbox: %s\n", e.what());
    return e.exit_code();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bpfbox: %s\n", e.what());
    return 1;
  }
  return 0;
}
