// `bpfbox jit-dump FILE [--checked] [--opcodes]`: compiles a program with the JIT (the core
// helpers, as `run`) and prints its machine code interleaved with the eBPF instructions it came
// from. A later `prog dump jited` prints a loaded program the same way.
#include <cstdio>

#include "command_error.hpp"
#include "commands.hpp"
#include "helpers/core.hpp"
#include "program_file.hpp"
#include "vm/jit/dump.hpp"

namespace bpfbox::cli {

void run_jit_dump(const JitDumpOptions& o) {
  const std::vector<isa::Insn> prog = load_program(o.path);
  vm::HelperTable helpers;
  helpers::register_core(helpers);
  vm::ExecOptions opts;
  opts.checked = o.checked;
  auto exe = vm::compile(vm::EngineKind::Jit, prog, helpers, opts);
  if (!exe) throw CommandError(o.path + ": " + exe.status().message());
  vm::jit::DumpOptions dump;
  dump.opcodes = o.opcodes;
  auto text = vm::jit::dump_jited(**exe, prog, dump);
  if (!text) throw CommandError(text.status().message());
  std::fwrite(text->data(), 1, text->size(), stdout);
  std::fflush(stdout);
}

}  // namespace bpfbox::cli
