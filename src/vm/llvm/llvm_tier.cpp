// libbpfbox's side of the tier: compile() hands the program to the module, loaded on first use.
#include "vm/llvm/llvm_tier.hpp"

#include <cstdlib>

#include "vm/llvm/module_abi.hpp"
#include "vm/llvm/module_loader.hpp"

namespace bpfbox::vm::llvm_tier {

Options Options::from_environment() {
  Options o;
  if (const char* v = std::getenv("BPFBOX_LLVM_OPT"); v && std::atoi(v) >= 3) o.opt_level = 3;
  return o;
}

Result<std::unique_ptr<Executable>> compile(std::span<const struct bpf_insn> prog,
                                            const HelperTable& helpers, const ExecOptions& opts,
                                            const Options& llvm_opts) {
  auto api = module();
  if (!api) return api.status();
  return (*api)->compile(prog, helpers, opts, llvm_opts);
}

}  // namespace bpfbox::vm::llvm_tier
