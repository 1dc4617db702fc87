// bpf_prog_info's view of an engine's machine code: jited_line_info from the per-insn offsets.
#include <cerrno>

#include "bpfbox/vm.hpp"

namespace bpfbox::vm {

Result<std::vector<uint64_t>> jited_line_addresses(const Executable& exe,
                                                   std::span<const uint32_t> insn_offs) {
  const NativeLayout layout = exe.native_layout();
  if (!layout.code) return Status(EINVAL, "no native code: the program runs in the interpreter");
  std::vector<uint64_t> out;
  out.reserve(insn_offs.size());
  for (uint32_t off : insn_offs) {
    // The last entry is the end of the body, not an instruction.
    if (size_t(off) + 1 >= layout.insn_offsets.size())
      return Status(EINVAL, "line info insn_off " + std::to_string(off) + " past the program");
    uint64_t addr = reinterpret_cast<uint64_t>(layout.code) + layout.insn_offsets[off];
    // A function's first line is at the function's address (the main one's prologue included),
    // as the kernel's bpf_prog_fill_jited_linfo.
    for (const NativeFunc& f : layout.funcs)
      if (f.insn == off) addr = f.addr;
    out.push_back(addr);
  }
  return out;
}

}  // namespace bpfbox::vm
