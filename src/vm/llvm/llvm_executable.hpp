// Inside the module: a program compiled through LLVM, as an Executable whose entry is the
// generated code.
#pragma once

#include <memory>
#include <span>

#include "bpfbox/vm.hpp"
#include "vm/llvm/llvm_tier.hpp"

namespace bpfbox::vm::llvm_tier {

// What llvm_tier::compile() does once the module is loaded.
Result<std::unique_ptr<Executable>> build(std::span<const struct bpf_insn> prog,
                                          const HelperTable& helpers, const ExecOptions& opts,
                                          const Options& llvm_opts);

}  // namespace bpfbox::vm::llvm_tier
