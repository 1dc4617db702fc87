#include "vm/llvm/program_shape.hpp"

#include <algorithm>

namespace bpfbox::vm::llvm_tier {

ProgramShape analyze(std::span<const isa::Decoded> prog) {
  const size_t n = prog.size();
  ProgramShape s;
  s.is_function.assign(n, 0);
  s.starts_block.assign(n, 0);
  s.is_function[0] = 1;
  for (size_t pc = 0; pc < n; ++pc) {
    const isa::Decoded& d = prog[pc];
    if (d.slots == 0) continue;
    const isa::Kind kind = d.info().kind;
    const auto target = d.target(pc);
    switch (kind) {
      case isa::Kind::CallLocal:
        s.is_function[*target] = 1;
        break;
      case isa::Kind::Lddw:
        if (d.src == BPF_PSEUDO_FUNC) s.is_function[*target] = 1;
        break;
      case isa::Kind::Ja:
      case isa::Kind::Gotol:
      case isa::Kind::Jcond:
      case isa::Kind::MayGoto:
        s.starts_block[*target] = 1;
        if (pc + 1 < n) s.starts_block[pc + 1] = 1;
        break;
      case isa::Kind::Exit:
        if (pc + 1 < n) s.starts_block[pc + 1] = 1;
        break;
      default:
        break;
    }
  }
  for (size_t pc = 0; pc < n; ++pc)
    if (s.is_function[pc]) {
      s.functions.push_back(static_cast<uint32_t>(pc));
      s.starts_block[pc] = 1;
    }

  // Reachability inside each function: fall through, jumps; calls return to the next pc.
  std::vector<uint8_t> seen(n);
  std::vector<uint32_t> work;
  for (uint32_t entry : s.functions) {
    std::fill(seen.begin(), seen.end(), 0);
    std::vector<uint32_t> reach;
    work.assign(1, entry);
    seen[entry] = 1;
    auto visit = [&](int64_t pc) {
      if (pc >= 0 && static_cast<size_t>(pc) < n && !seen[pc]) {
        seen[pc] = 1;
        work.push_back(static_cast<uint32_t>(pc));
      }
    };
    while (!work.empty()) {
      const uint32_t pc = work.back();
      work.pop_back();
      reach.push_back(pc);
      const isa::Decoded& d = prog[pc];
      switch (d.info().kind) {
        case isa::Kind::Exit:
          break;
        case isa::Kind::Ja:
        case isa::Kind::Gotol:
          visit(*d.target(pc));
          break;
        case isa::Kind::Jcond:
        case isa::Kind::MayGoto:
          visit(*d.target(pc));
          visit(pc + 1);
          break;
        default:
          visit(pc + d.slots);
          break;
      }
    }
    std::sort(reach.begin(), reach.end());
    s.reach.push_back(std::move(reach));
  }
  return s;
}

}  // namespace bpfbox::vm::llvm_tier
