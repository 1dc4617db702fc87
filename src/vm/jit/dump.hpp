// `dump jited`: a JIT executable's machine code, disassembled with capstone and interleaved with
// the eBPF instruction each range of it came from (as bpftool's `prog dump jited linum` shows the
// kernel's). The line mapping itself is Executable::native_layout().
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <linux/bpf.h>

#include "bpfbox/status.hpp"
#include "bpfbox/vm.hpp"

namespace bpfbox::vm::jit {

struct DumpOptions {
  bool opcodes = false;  // also print each native instruction's bytes
};

// "; 0: (b7) r0 = 1" (the verifier log's text) followed by "   4:\tmov    $0x1,%eax" (AT&T, as
// bpftool prints) for every eBPF instruction; the prologue and the out-of-line code (fault stubs,
// thunks, the callback trampoline) under their own headers. `prog` is the program `exe` was
// compiled from. EINVAL when `exe` is not a JIT executable or `prog` is not its program;
// EOPNOTSUPP when bpfbox was built without capstone.
Result<std::string> dump_jited(const Executable& exe, std::span<const struct bpf_insn> prog,
                               const DumpOptions& opts = {});

}  // namespace bpfbox::vm::jit
