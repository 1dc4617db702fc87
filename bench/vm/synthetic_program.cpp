#include "synthetic_program.hpp"

#include <algorithm>
#include <cstdint>

namespace bpfbox::bench {

using isa::Op;

std::vector<isa::Insn> synthetic_program(size_t n) {
  n = std::max<size_t>(n, 16);
  std::vector<isa::Insn> p;
  p.reserve(n);
  auto emit = [&](Op op, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
    p.push_back(isa::encode(op, dst, src, off, imm));
  };
  emit(Op::Mov64X, 6, 1, 0, 0);  // r6: the packet
  emit(Op::Mov64X, 7, 2, 0, 0);  // r7: its length
  emit(Op::Mov64K, 0, 0, 0, 0);
  const size_t body_end = n - 1;  // the exit
  // A forward jump from the instruction about to be emitted, `ahead` instructions on, kept inside.
  auto fwd = [&](size_t ahead) {
    const size_t at = p.size();
    return static_cast<int16_t>(std::min(at + 1 + ahead, body_end) - at - 1);
  };
  for (uint32_t block = 0; p.size() + 22 <= body_end; ++block) {
    const int16_t off = static_cast<int16_t>((block * 4) % 64);
    emit(Op::Mov64X, 2, 6, 0, 0);
    emit(Op::Add64K, 2, 0, 0, off + 8);                  // r2 = pkt + off + 8 (lea)
    emit(Op::Jgt64X, 2, 7, fwd(block % 3 ? 4 : 60), 0);  // bounds check, near or far
    emit(Op::LdxW, 3, 6, off, 0);
    emit(Op::Be32, 3, 0, 0, 32);
    emit(Op::LdxH, 4, 6, static_cast<int16_t>(off + 4), 0);
    emit(Op::Lsh64K, 4, 0, 0, 16);
    emit(Op::Or64X, 3, 4, 0, 0);
    emit(Op::And32K, 3, 0, 0, 0xffff);
    emit(Op::Jeq64K, 3, 0, fwd(3), static_cast<int32_t>(block * 7 + 1));
    emit(Op::Add64X, 0, 3, 0, 0);
    emit(Op::Mul64K, 0, 0, 0, 31);
    emit(Op::Xor64K, 0, 0, 0, 0x5a5a);
    emit(Op::StxDW, 10, 0, static_cast<int16_t>(-8 * (1 + block % 8)), 0);
    if (block % 4 == 0) {
      emit(Op::Mov64X, 1, 10, 0, 0);
      emit(Op::Add64K, 1, 0, 0, -8);
      emit(Op::Call, 0, 0, 0, 7);
      emit(Op::Add64X, 0, 8, 0, 0);
      emit(Op::Mov64X, 8, 0, 0, 0);
    } else {
      emit(Op::LdxDW, 8, 10, static_cast<int16_t>(-8 * (1 + (block + 3) % 8)), 0);
      emit(Op::Rsh64K, 8, 0, 0, 3);
      emit(Op::Sub64X, 0, 8, 0, 0);
    }
    emit(Op::Jlt64K, 0, 0, fwd(2), 1000);
    emit(Op::Add64K, 0, 0, 0, 1);
  }
  while (p.size() < body_end) emit(Op::Add64K, 0, 0, 0, 1);
  emit(Op::Exit, 0, 0, 0, 0);
  return p;
}

}  // namespace bpfbox::bench
