// Finding and loading the LLVM tier's module (libbpfbox-llvm.so) the first time a program is
// compiled for the tier. Where it is looked for, in order:
//   1. BPFBOX_LLVM_MODULE, a path: only there when set;
//   2. next to the binary that holds libbpfbox (an executable, or a shared library embedding it);
//   3. next to the running executable (/proc/self/exe);
//   4. the build tree's, when libbpfbox was built with the module (tests, benchmarks);
//   5. the dynamic linker's search (LD_LIBRARY_PATH, runpath, ld.so.cache).
// The module is never unloaded: the code of live executables is in it.
#pragma once

#include <string>

#include "bpfbox/status.hpp"

namespace bpfbox::vm::llvm_tier {

struct ModuleApi;

// The loaded module, loading it on the first call (once per process, thread-safe); EOPNOTSUPP
// saying what was tried when it is not built or cannot be loaded (the result is kept: a later
// call does not retry).
Result<const ModuleApi*> module();

// Whether the module is loaded (without loading it), and from where ("" when not).
bool module_loaded();
std::string module_path();

// Loads the module at `path` and checks its interface, without keeping it as the process's
// module (tests of the checks). The module stays loaded.
Result<const ModuleApi*> load_module_at(const std::string& path);

}  // namespace bpfbox::vm::llvm_tier
