// vm::compile: picks the engine a program runs on, and what the library's default engine is.
#include <cerrno>
#include <cstdlib>
#include <string>

#include "bpfbox/vm.hpp"
#include "vm/interp/interp.hpp"
#ifdef BPFBOX_HAVE_JIT
#include "vm/jit/jit.hpp"
#endif
#include "vm/llvm/llvm_tier.hpp"
#include "vm/llvm/tiered.hpp"

namespace bpfbox::vm {
namespace {

struct EngineName {
  EngineKind kind;
  const char* name;
};
constexpr EngineName kEngineNames[] = {{EngineKind::Interp, "interp"},
                                       {EngineKind::Jit, "jit"},
                                       {EngineKind::Llvm, "llvm"},
                                       {EngineKind::Tiered, "tiered"},
                                       {EngineKind::Default, "default"}};

// BPFBOX_TIER_UP_RUNS and BPFBOX_LLVM_OPT, for programs tiered through vm::compile.
llvm_tier::TierUp tier_up_from_environment() {
  llvm_tier::TierUp t;
  if (const char* v = std::getenv("BPFBOX_TIER_UP_RUNS"); v && *v) {
    char* end = nullptr;
    const unsigned long long n = std::strtoull(v, &end, 10);
    if (end && !*end && n > 0) t.after_runs = n;
  }
  t.opt_level = llvm_tier::Options::from_environment().opt_level;
  return t;
}

}  // namespace

const char* engine_name(EngineKind engine) {
  for (const EngineName& e : kEngineNames)
    if (e.kind == engine) return e.name;
  return "?";
}

Result<EngineKind> engine_from_name(std::string_view name) {
  for (const EngineName& e : kEngineNames)
    if (name == e.name) return e.kind;
  return Status(EINVAL,
                "unknown engine '" + std::string(name) + "' (interp, jit, llvm, tiered, default)");
}

Result<EngineKind> default_engine() {
  const char* v = std::getenv("BPFBOX_ENGINE");
  // The kernel's default is its JIT (bpf_jit_enable); the interpreter where there is no JIT.
#ifdef BPFBOX_HAVE_JIT
  if (!v || !*v) return EngineKind::Jit;
#else
  if (!v || !*v) return EngineKind::Interp;
#endif
  auto e = engine_from_name(v);
  if (!e || *e == EngineKind::Default)
    return Status(
        EINVAL, std::string("BPFBOX_ENGINE=") + v + ": unknown engine (interp, jit, llvm, tiered)");
  return e;
}

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
    case EngineKind::Tiered:
      return llvm_tier::compile_tiered(prog, helpers, opts, tier_up_from_environment());
    case EngineKind::Default: {
      auto e = default_engine();
      if (!e) return e.status();
      return compile(*e, prog, helpers, opts);
    }
  }
  return Status(EINVAL, "unknown engine");
}

}  // namespace bpfbox::vm
