// The baseline JIT: eBPF compiled to x86-64 machine code in one linear pass (repeated until jump
// sizes settle), running with the interpreter's semantics, calling convention and helper table.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "bpfbox/vm.hpp"
#include "vm/jit/x86_64/translator.hpp"

namespace bpfbox::vm::jit {

Result<std::unique_ptr<Executable>> compile(std::span<const struct bpf_insn> prog,
                                            const HelperTable& helpers, const ExecOptions& opts,
                                            const x86_64::Tuning& tuning);
Result<std::unique_ptr<Executable>> compile(std::span<const struct bpf_insn> prog,
                                            const HelperTable& helpers, const ExecOptions& opts);

// The code and its line mapping are Executable::native_layout(). What only the JIT knows: how many
// layout passes the compile took (0 for other engines), for tests and benchmarks.
int layout_passes(const Executable& exe);

// What the host supports, for the default Tuning.
x86_64::Tuning host_tuning();

}  // namespace bpfbox::vm::jit
