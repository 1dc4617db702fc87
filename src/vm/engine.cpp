// vm::compile: picks the engine a program runs on.
#include <cerrno>

#include "bpfbox/vm.hpp"
#include "vm/interp/interp.hpp"
#ifdef BPFBOX_HAVE_JIT
#include "vm/jit/jit.hpp"
#endif
#include "vm/llvm/llvm_tier.hpp"  // the front: loads the module, or says why it cannot

namespace bpfbox::vm {

Result<std::unique_ptr<Executable>> compile(EngineKind engine,
                                            std::span<const struct bpf_insn> prog,
                                            const HelperTable& helpers, const ExecOptions& opts) {
  switch (engine) {
    case EngineKind::Interp:
      return interp::compile(prog, helpers, opts);
    case EngineKind::Jit:
#ifdef BPFBOX_HAVE_JIT
      return jit::compile(prog, helpers, opts);
#else
      return Status(EOPNOTSUPP, "jit engine not built");
#endif
    case EngineKind::Llvm:
      return llvm_tier::compile(prog, helpers, opts, llvm_tier::Options::from_environment());
  }
  return Status(EINVAL, "unknown engine");
}

}  // namespace bpfbox::vm
