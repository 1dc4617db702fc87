// `bpfbox run FILE`: runs a program (raw or assembly) on the given memory and prints r0.
#include <cinttypes>
#include <cstdio>

#include "command_error.hpp"
#include "commands.hpp"
#include "execute.hpp"
#include "hex.hpp"
#include "program_file.hpp"

namespace bpfbox::cli {

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
  // The CLI loads as a privileged user: BPFBOX_JIT_HARDEN=2 blinds its jit runs, as the sysctl.
  exec.blind_constants =
      o.jit_harden || (exec.engine == vm::EngineKind::Jit && vm::blind_constants_for(true));
  const uint64_t r0 = execute(prog, mem, exec, o.path);
  std::printf("0x%" PRIx64 "\n", r0);
}

}  // namespace bpfbox::cli
