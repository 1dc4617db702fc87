// The interface between libbpfbox and the LLVM tier's module (libbpfbox-llvm.so, dlopen'ed on
// first use so that only processes that compile with LLVM load libLLVM): one exported C symbol
// returning a table, versioned, with a fingerprint of the C++ types both sides share.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "bpfbox/vm.hpp"
#include "vm/llvm/llvm_tier.hpp"

namespace bpfbox::vm::llvm_tier {

inline constexpr const char* kModuleFile = "libbpfbox-llvm.so";
inline constexpr const char* kModuleEntry = "bpfbox_llvm_module_v1";
// Bumped when ModuleApi or the meaning of a field changes.
inline constexpr uint32_t kModuleAbiVersion = 1;

// The sizes of the types passed across: a module built from other headers is refused rather
// than trusted with them.
constexpr uint64_t module_layout() {
  return sizeof(RunContext) | uint64_t{sizeof(HelperTable)} << 16 |
         uint64_t{sizeof(ExecOptions)} << 24 | uint64_t{sizeof(Options)} << 32 |
         uint64_t{sizeof(Status)} << 40 | uint64_t{sizeof(Executable)} << 48;
}

struct ModuleApi {
  uint32_t abi_version;
  uint64_t layout;
  const char* project_version;  // the module's PROJECT_VERSION, as libbpfbox's
  Result<std::unique_ptr<Executable>> (*compile)(std::span<const struct bpf_insn> prog,
                                                 const HelperTable& helpers,
                                                 const ExecOptions& opts, const Options& o);
};

using ModuleEntryFn = const ModuleApi* (*)();

}  // namespace bpfbox::vm::llvm_tier
