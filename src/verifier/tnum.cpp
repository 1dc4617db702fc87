// Tristate numbers: the transfer functions of kernel/bpf/tnum.c, with the same precision, so the
// bounds bpfbox derives and prints are the kernel's.
#include "verifier/tnum.hpp"

#include <cstdio>

namespace bpfbox::verifier {

Tnum Tnum::range(uint64_t min, uint64_t max) {
  // Bits below the highest bit where min and max differ can take any value.
  const uint64_t differ = min ^ max;
  if (differ == 0) return constant(min);
  const int bits = 64 - __builtin_clzll(differ);
  if (bits > 63) return unknown();
  const uint64_t low = (uint64_t(1) << bits) - 1;
  return {min & ~low, low};
}

bool Tnum::includes(Tnum b) const {
  if (b.mask & ~mask) return false;  // b varies where this is known
  return value == (b.value & ~mask);
}

std::string Tnum::to_string() const {
  char buf[48];
  std::snprintf(buf, sizeof buf, "(%#llx; %#llx)", static_cast<unsigned long long>(value),
                static_cast<unsigned long long>(mask));
  // printf writes 0 without the 0x prefix; the kernel's vsnprintf writes 0x0.
  std::string s = buf;
  if (value == 0) s.replace(1, 1, "0x0");
  if (mask == 0) s.replace(s.size() - 2, 1, "0x0");
  return s;
}

Tnum tnum_lshift(Tnum a, uint8_t shift) {
  if (shift >= 64) return Tnum::constant(0);
  return {a.value << shift, a.mask << shift};
}

Tnum tnum_rshift(Tnum a, uint8_t shift) {
  if (shift >= 64) return Tnum::constant(0);
  return {a.value >> shift, a.mask >> shift};
}

Tnum tnum_arshift(Tnum a, uint8_t min_shift, uint8_t insn_bitness) {
  // The sign bit (known or not) is copied into the vacated bits of value and mask alike.
  if (insn_bitness == 32) {
    const uint8_t s = min_shift > 31 ? 31 : min_shift;
    return {uint32_t(int32_t(uint32_t(a.value)) >> s), uint32_t(int32_t(uint32_t(a.mask)) >> s)};
  }
  const uint8_t s = min_shift > 63 ? 63 : min_shift;
  return {uint64_t(int64_t(a.value) >> s), uint64_t(int64_t(a.mask) >> s)};
}

Tnum tnum_add(Tnum a, Tnum b) {
  // Carries out of unknown bits: compare the sum with all unknowns at 0 and at 1.
  const uint64_t sm = a.mask + b.mask;
  const uint64_t sv = a.value + b.value;
  const uint64_t carries = (sm + sv) ^ sv;
  const uint64_t mu = carries | a.mask | b.mask;
  return {sv & ~mu, mu};
}

Tnum tnum_sub(Tnum a, Tnum b) {
  const uint64_t dv = a.value - b.value;
  const uint64_t alpha = dv + a.mask;
  const uint64_t beta = dv - b.mask;
  const uint64_t mu = (alpha ^ beta) | a.mask | b.mask;
  return {dv & ~mu, mu};
}

Tnum tnum_neg(Tnum a) {
  return tnum_sub(Tnum::constant(0), a);
}

Tnum tnum_and(Tnum a, Tnum b) {
  const uint64_t alpha = a.value | a.mask;
  const uint64_t beta = b.value | b.mask;
  const uint64_t v = a.value & b.value;
  return {v, alpha & beta & ~v};
}

Tnum tnum_or(Tnum a, Tnum b) {
  const uint64_t v = a.value | b.value;
  const uint64_t mu = a.mask | b.mask;
  return {v, mu & ~v};
}

Tnum tnum_xor(Tnum a, Tnum b) {
  const uint64_t v = a.value ^ b.value;
  const uint64_t mu = a.mask | b.mask;
  return {v & ~mu, mu};
}

Tnum tnum_mul(Tnum a, Tnum b) {
  // Long multiplication over a's bits: a known 1 adds b shifted, an unknown bit adds b or nothing
  // (the union of both partial sums), a known 0 adds nothing.
  Tnum acc = Tnum::constant(0);
  while (a.value || a.mask) {
    if (a.value & 1)
      acc = tnum_add(acc, b);
    else if (a.mask & 1)
      acc = tnum_union(acc, tnum_add(acc, b));
    a = tnum_rshift(a, 1);
    b = tnum_lshift(b, 1);
  }
  return acc;
}

Tnum tnum_intersect(Tnum a, Tnum b) {
  const uint64_t v = a.value | b.value;
  const uint64_t mu = a.mask & b.mask;
  return {v & ~mu, mu};
}

Tnum tnum_union(Tnum a, Tnum b) {
  const uint64_t v = a.value & b.value;
  const uint64_t mu = (a.value ^ b.value) | a.mask | b.mask;
  return {v & ~mu, mu};
}

Tnum tnum_cast(Tnum a, uint8_t size) {
  if (size >= 8) return a;
  const uint64_t keep = (uint64_t(1) << (size * 8)) - 1;
  return {a.value & keep, a.mask & keep};
}

Tnum tnum_subreg(Tnum a) {
  return tnum_cast(a, 4);
}

Tnum tnum_clear_subreg(Tnum a) {
  return tnum_lshift(tnum_rshift(a, 32), 32);
}

Tnum tnum_with_subreg(Tnum reg, Tnum subreg) {
  return tnum_or(tnum_clear_subreg(reg), tnum_subreg(subreg));
}

Tnum tnum_const_subreg(Tnum a, uint32_t value) {
  return tnum_with_subreg(a, Tnum::constant(value));
}

bool tnum_is_aligned(Tnum a, uint64_t size) {
  if (size == 0) return true;
  return ((a.value | a.mask) & (size - 1)) == 0;
}

}  // namespace bpfbox::verifier
