// vm::compile: picks the engine a program runs on.
#include <cerrno>

#include "bpfbox/vm.hpp"
#include "vm/interp/interp.hpp"
#ifdef BPFBOX_HAVE_JIT
#include "vm/jit/jit.hpp"
#endif
#ifdef BPFBOX_HAVE_LLVM
#include "vm/llvm/llvm_tier.hpp"
#endif

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
#ifdef BPFBOX_HAVE_LLVM
      return llvm_tier::compile(prog, helpers, opts, llvm_tier::Options::from_environment());
#else
      return Status(EOPNOTSUPP,
                    "llvm engine not built (configure with -DBPFBOX_WITH_LLVM=ON; needs llvm-dev "
                    "14)");
#endif
  }
  return Status(EINVAL, "unknown engine");
}

}  // namespace bpfbox::vm
