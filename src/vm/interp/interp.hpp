// The interpreter engine: compiles a program into pre-decoded slots run by a threaded dispatch
// loop.
#pragma once

#include <memory>
#include <span>

#include "bpfbox/vm.hpp"

namespace bpfbox::vm::interp {

Result<std::unique_ptr<Executable>> compile(std::span<const struct bpf_insn> prog,
                                            const HelperTable& helpers, const ExecOptions& opts);

}  // namespace bpfbox::vm::interp
