#include "execute.hpp"

#include <cerrno>

#include "command_error.hpp"
#include "helpers/core.hpp"

namespace bpfbox::cli {

vm::EngineKind engine_from_name(const std::string& name) {
  auto e = vm::engine_from_name(name);
  if (!e) throw CommandError(e.status().message());
  if (*e != vm::EngineKind::Default) return *e;
  auto d = vm::default_engine();  // BPFBOX_ENGINE, resolved here so errors name the engine
  if (!d) throw CommandError(d.status().message());
  return *d;
}

uint64_t execute(std::span<const isa::Insn> prog, std::vector<uint8_t>& mem,
                 const ExecuteOptions& opts, const std::string& what) {
  vm::HelperTable helpers;
  helpers::register_core(helpers);
  vm::ExecOptions exec;
  exec.checked = opts.checked;
  exec.insn_budget = opts.budget;
  exec.blind_constants = opts.blind_constants;
  auto compiled = vm::compile(opts.engine, prog, helpers, exec);
  if (!compiled) {
    if (opts.engine == vm::EngineKind::Jit && compiled.status().err() == EOPNOTSUPP)
      throw CommandError("engine jit is not available yet");
    if (opts.engine == vm::EngineKind::Llvm && compiled.status().err() == EOPNOTSUPP)
      throw CommandError("engine llvm: " + compiled.status().message());
    if (opts.engine == vm::EngineKind::Tiered && compiled.status().err() == EOPNOTSUPP)
      throw CommandError("engine tiered: " + compiled.status().message());
    throw CommandError(what + ": " + compiled.status().message());
  }

  vm::RunContext rc;
  if (!mem.empty()) rc.add_region(mem.data(), mem.size(), vm::kReadWrite, "mem");
  const uint64_t r1 = mem.empty() ? 0 : reinterpret_cast<uint64_t>(mem.data());
  const uint64_t r0 = (*compiled)->run(rc, r1, mem.size());
  if (rc.fault.kind != vm::FaultKind::None)
    throw CommandError("fault: " + vm::describe(rc.fault, &rc));
  return r0;
}

}  // namespace bpfbox::cli
