// The optimizing tier: a program in its executable form compiled through LLVM 14 (eBPF -> IR ->
// -O2/-O3 -> x86-64), with the interpreter's semantics, calling convention and helper table.
// vm::compile(EngineKind::Llvm, ...) reaches it. The compiler itself lives in the module
// libbpfbox-llvm.so (module_loader.hpp), loaded on the first compile: processes that never use
// this tier never load libLLVM. EOPNOTSUPP when the module is not built or cannot be loaded.
#pragma once

#include <memory>
#include <span>

#include "bpfbox/vm.hpp"

namespace bpfbox::vm::llvm_tier {

struct Options {
  int opt_level = 2;  // LLVM's -O2 (the default) or -O3
  // Tests only: the translated IR is made invalid before it is verified, so the error path an
  // internal bug would take (a clean EINVAL, not a crash) can be exercised.
  bool break_ir_for_test = false;

  // BPFBOX_LLVM_OPT=3 selects -O3 for programs compiled through vm::compile.
  static Options from_environment();
};

Result<std::unique_ptr<Executable>> compile(std::span<const struct bpf_insn> prog,
                                            const HelperTable& helpers, const ExecOptions& opts,
                                            const Options& llvm_opts = {});

}  // namespace bpfbox::vm::llvm_tier
