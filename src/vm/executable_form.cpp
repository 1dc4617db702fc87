#include "vm/executable_form.hpp"

#include <cerrno>
#include <cstdio>

#include "isa/reg_effects.hpp"

namespace bpfbox::vm {

Status check_executable_form(std::span<const isa::Decoded> prog, const HelperTable& helpers) {
  char buf[160];
  for (size_t pc = 0; pc < prog.size(); ++pc) {
    const isa::Decoded& d = prog[pc];
    if (d.slots == 0) continue;
    const isa::OpInfo& o = d.info();
    switch (o.kind) {
      case isa::Kind::Call:
        // bpf_tail_call is the engines' own instruction when the embedder gave a lookup.
        if (is_tail_call(d, helpers)) break;
        if (!helpers.get(static_cast<uint32_t>(d.imm))) {
          std::snprintf(buf, sizeof buf, "invalid func unknown#%d (insn %zu)", d.imm, pc);
          return Status(EINVAL, buf);
        }
        break;
      case isa::Kind::CallKfunc:
        std::snprintf(buf, sizeof buf,
                      "kernel function calls (kfuncs) are not supported yet (insn %zu)", pc);
        return Status(EINVAL, buf);
      case isa::Kind::Lddw:
        if (d.src != 0 && d.src != BPF_PSEUDO_FUNC) {
          std::snprintf(buf, sizeof buf,
                        "ld_imm64 with pseudo source %d must be resolved by the loader (insn %zu)",
                        d.src, pc);
          return Status(EINVAL, buf);
        }
        break;
      default:
        break;
    }
    uint16_t reads, writes;
    isa::reg_effects(d, o, reads, writes);
    if (writes & (1u << isa::kMaxReg)) {
      std::snprintf(buf, sizeof buf, "frame pointer is read only (insn %zu)", pc);
      return Status(EINVAL, buf);
    }
  }
  return Status::ok();
}

}  // namespace bpfbox::vm
