// Building test programs with the encoder: Prog p; p << I(Op::Mov64K, 0, 0, 0, 1); p.exit();
// Shared by the interpreter's and the JIT's tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "isa/decoder.hpp"

namespace bpfbox::test {

inline isa::Insn I(isa::Op op, uint8_t dst = 0, uint8_t src = 0, int16_t off = 0, int32_t imm = 0) {
  return isa::encode(op, dst, src, off, imm);
}

struct Prog {
  std::vector<isa::Insn> insns;
  Prog& operator<<(const isa::Insn& i) {
    insns.push_back(i);
    return *this;
  }
  Prog& lddw(uint8_t dst, uint64_t v, uint8_t pseudo = 0) {
    isa::Insn two[2];
    isa::encode_lddw(dst, pseudo, v, two);
    insns.push_back(two[0]);
    insns.push_back(two[1]);
    return *this;
  }
  Prog& exit() { return *this << I(isa::Op::Exit); }
  size_t size() const { return insns.size(); }
};

}  // namespace bpfbox::test
