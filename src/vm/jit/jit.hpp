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

// What the JIT's executable can tell about itself (for tests, `prog dump jited`, benchmarks).
struct NativeInfo {
  const uint8_t* code = nullptr;
  size_t size = 0;
  int passes = 0;  // layout passes the compile took
  // Per pc, the offset of its code from `code` (index n: the end of the body, where the
  // out-of-line code starts): the line mapping of `dump jited` and jited_line_info.
  std::span<const uint32_t> insn_offsets;
};

Result<std::unique_ptr<Executable>> compile(std::span<const struct bpf_insn> prog,
                                            const HelperTable& helpers, const ExecOptions& opts,
                                            const x86_64::Tuning& tuning);
Result<std::unique_ptr<Executable>> compile(std::span<const struct bpf_insn> prog,
                                            const HelperTable& helpers, const ExecOptions& opts);

// The machine code of a JIT executable; nullopt-like (code == nullptr) for other engines.
NativeInfo native_info(const Executable& exe);

// What the host supports, for the default Tuning.
x86_64::Tuning host_tuning();

}  // namespace bpfbox::vm::jit
