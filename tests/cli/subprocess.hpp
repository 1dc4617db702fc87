// Runs a program as a user or the conformance runner would: arguments, stdin, and what it printed.
#pragma once

#include <string>
#include <vector>

namespace bpfbox::testing {

struct ProcessResult {
  int exit_code = -1;  // the exit status, or 128 + signal when a signal ended it
  std::string out;
  std::string err;
};

// Runs argv[0] (a path) with argv, feeding `input` on stdin, and waits for it.
ProcessResult run_process(const std::vector<std::string>& argv, const std::string& input = "");

// The built CLI: BPFBOX_BINARY_DIR/bpfbox.
std::string bpfbox_binary();
// The same binary as the conformance runner's plugin: BPFBOX_BINARY_DIR/bpfbox-conformance-plugin.
std::string conformance_plugin_binary();

}  // namespace bpfbox::testing
