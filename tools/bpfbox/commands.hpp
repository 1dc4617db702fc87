// The CLI's commands, one file each, as plain functions over their options. main.cpp holds the
// grammar (CLI11, parsed in that one file because it is slow to compile) and calls these; each
// throws CommandError on failure.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace bpfbox::cli {

struct AsmOptions {
  std::string input;
  std::string output;  // empty: the input with .bin
};
void run_asm(const AsmOptions& o);

void run_disasm(const std::string& path);

struct RunOptions {
  std::string path;
  std::string mem_hex;
  std::string mem_file;
  std::string engine = "default";  // BPFBOX_ENGINE, else jit
  bool checked = false;
  uint64_t budget = 0;
  bool jit_harden = false;  // constant blinding (also BPFBOX_JIT_HARDEN=2 for the jit engine)
};
void run_run(const RunOptions& o);

struct PluginOptions {
  std::string mem;
  std::string engine = "default";  // BPFBOX_ENGINE, else jit
  bool unchecked = false;
  std::vector<std::string> extras;  // arguments the grammar did not take
};
void run_conformance_plugin(const PluginOptions& o);

struct JitDumpOptions {
  std::string path;
  bool checked = false;
  bool opcodes = false;
};
void run_jit_dump(const JitDumpOptions& o);

struct VerifyOptions {
  std::string path;
  std::string type = "socket_filter";
  bool unprivileged = false;
  uint32_t log_level = 1;
  bool json = false;
  std::vector<std::string> maps;  // TYPE:KEY:VALUE:ENTRIES, the N-th is map[fd:N]
};
void run_verify(const VerifyOptions& o);

}  // namespace bpfbox::cli

namespace bpfbox::cli {

// bpftool's commands, the words after "prog", "map", "btf" or "link" (-j/-p already taken out, see
// Output in bpftool_common.hpp). For prog, engine sets BPFBOX_ENGINE.
void run_prog(const std::vector<std::string>& args, const std::string& engine);
void run_map(const std::vector<std::string>& args);
void run_btf(const std::vector<std::string>& args);
void run_link(const std::vector<std::string>& args);

// Takes bpftool's output options (-j/--json, -p/--pretty) out of args, wherever they are (bpftool's
// getopt takes them anywhere), into output().
std::vector<std::string> take_output_options(std::vector<std::string> args);
// Ends the JSON document when -j/-p was given (bpftool's newline after it).
void finish_output();

}  // namespace bpfbox::cli
