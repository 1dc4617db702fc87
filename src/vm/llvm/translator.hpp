// eBPF (the executable form) -> LLVM IR: one LLVM function per BPF function, BPF registers as
// allocas (promoted to SSA by mem2reg), the stack as one alloca of 8 x 512 bytes in the entry.
#pragma once

#include <memory>
#include <span>

#include "bpfbox/status.hpp"
#include "bpfbox/vm.hpp"
#include "isa/decoder.hpp"

namespace llvm {
class LLVMContext;
class Module;
}  // namespace llvm

namespace bpfbox::vm::llvm_tier {

// The external function of the module, with Executable::Entry's signature.
inline constexpr const char* kEntrySymbol = "bpfbox_llvm_entry";
// A pointer-sized global the executable sets to its own address (tail calls name their caller).
inline constexpr const char* kSelfSymbol = "bpfbox_llvm_self";

// A module whose kEntrySymbol runs the program with the interpreter's semantics in the mode
// `opts` asks for (checked, budget). EINVAL naming the pc for what this tier does not take.
Result<std::unique_ptr<::llvm::Module>> translate(::llvm::LLVMContext& ctx,
                                                  std::span<const isa::Decoded> prog,
                                                  const HelperTable& helpers,
                                                  const ExecOptions& opts);

}  // namespace bpfbox::vm::llvm_tier
