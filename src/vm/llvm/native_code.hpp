// LLVM IR -> optimized x86-64 in memory: the -O2/-O3 pass pipeline tuned for the host CPU, then
// ORC's LLJIT, which links the object into executable pages and owns them.
#pragma once

#include <cstdint>
#include <memory>

#include "bpfbox/status.hpp"

#include <llvm/ExecutionEngine/Orc/ThreadSafeModule.h>

namespace llvm::orc {
class LLJIT;
}  // namespace llvm::orc

namespace bpfbox::vm::llvm_tier {

// Loaded machine code; freed with the object.
class NativeCode {
 public:
  ~NativeCode();
  uint64_t address() const { return address_; }
  uint64_t self_slot() const { return self_slot_; }

  // Optimizes `module` at opt_level (2 or 3), compiles it and returns the code: the address of
  // `symbol` (a function) and of `self_symbol` (a pointer the owner sets). A ThreadSafeModule,
  // because it frees the module before its context on every path, errors included (two
  // unique_ptr parameters are destroyed in an order the caller's compiler chooses).
  static Result<std::unique_ptr<NativeCode>> build(::llvm::orc::ThreadSafeModule module,
                                                   int opt_level, const char* symbol,
                                                   const char* self_symbol);

 private:
  NativeCode() = default;
  std::unique_ptr<::llvm::orc::LLJIT> jit_;
  uint64_t address_ = 0;
  uint64_t self_slot_ = 0;
};

}  // namespace bpfbox::vm::llvm_tier
