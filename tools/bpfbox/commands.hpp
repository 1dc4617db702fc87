// The CLI's command groups; each adds its subcommand to the app and runs from its callback,
// throwing CommandError on failure.
#pragma once

#include <CLI/CLI.hpp>

namespace bpfbox::cli {

void add_asm_command(CLI::App& app);
void add_disasm_command(CLI::App& app);
void add_run_command(CLI::App& app);
void add_conformance_plugin_command(CLI::App& app);

}  // namespace bpfbox::cli
