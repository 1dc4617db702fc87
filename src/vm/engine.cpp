// vm::compile: picks the engine a program runs on.
#include <cerrno>

#include "bpfbox/vm.hpp"
#include "vm/interp/interp.hpp"

namespace bpfbox::vm {

Result<std::unique_ptr<Executable>> compile(EngineKind engine,
                                            std::span<const struct bpf_insn> prog,
                                            const HelperTable& helpers, const ExecOptions& opts) {
  switch (engine) {
    case EngineKind::Interp:
      return interp::compile(prog, helpers, opts);
    case EngineKind::Jit:
      return Status(EOPNOTSUPP, "jit engine not built");
    case EngineKind::Llvm:
      return Status(EOPNOTSUPP, "llvm engine not built");
  }
  return Status(EINVAL, "unknown engine");
}

}  // namespace bpfbox::vm
