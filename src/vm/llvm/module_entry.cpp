// The module's one exported symbol (see module_abi.hpp; everything else is local to the module).
#include "vm/llvm/llvm_executable.hpp"
#include "vm/llvm/module_abi.hpp"

extern "C" [[gnu::visibility("default")]] const bpfbox::vm::llvm_tier::ModuleApi*
bpfbox_llvm_module_v1() {
  using namespace bpfbox::vm::llvm_tier;
  static const ModuleApi api{kModuleAbiVersion, module_layout(), BPFBOX_VERSION, &build};
  return &api;
}
