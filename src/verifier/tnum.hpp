// Tristate numbers, the kernel's known-bits domain (kernel/bpf/tnum.c): each bit is known 0, known
// 1 or unknown. value holds the known 1 bits, mask the unknown ones; value & mask == 0 always.
#pragma once

#include <cstdint>
#include <string>

namespace bpfbox::verifier {

struct Tnum {
  uint64_t value = 0;
  uint64_t mask = 0;

  static constexpr Tnum constant(uint64_t v) { return {v, 0}; }
  static constexpr Tnum unknown() { return {0, ~uint64_t(0)}; }
  // The smallest tnum holding every value in [min, max].
  static Tnum range(uint64_t min, uint64_t max);

  constexpr bool is_const() const { return mask == 0; }
  constexpr bool is_unknown() const { return mask == ~uint64_t(0); }
  // True when v is one of the values this tnum describes.
  constexpr bool contains(uint64_t v) const { return (v & ~mask) == value; }
  // True when every value of b is a value of this tnum (tnum_in(this, b)).
  bool includes(Tnum b) const;
  bool operator==(const Tnum&) const = default;

  // "(0x0; 0xff)" as the verifier log prints var_off.
  std::string to_string() const;
};

Tnum tnum_lshift(Tnum a, uint8_t shift);
Tnum tnum_rshift(Tnum a, uint8_t shift);
Tnum tnum_arshift(Tnum a, uint8_t min_shift, uint8_t insn_bitness);
Tnum tnum_add(Tnum a, Tnum b);
Tnum tnum_sub(Tnum a, Tnum b);
Tnum tnum_neg(Tnum a);
Tnum tnum_and(Tnum a, Tnum b);
Tnum tnum_or(Tnum a, Tnum b);
Tnum tnum_xor(Tnum a, Tnum b);
Tnum tnum_mul(Tnum a, Tnum b);
Tnum tnum_intersect(Tnum a, Tnum b);   // values in both (the meet)
Tnum tnum_union(Tnum a, Tnum b);       // values in either (the join)
Tnum tnum_cast(Tnum a, uint8_t size);  // keep the low `size` bytes
Tnum tnum_subreg(Tnum a);              // the low 32 bits
Tnum tnum_clear_subreg(Tnum a);        // the high 32 bits, low 32 zero
Tnum tnum_with_subreg(Tnum reg, Tnum subreg);
Tnum tnum_const_subreg(Tnum a, uint32_t value);
bool tnum_is_aligned(Tnum a, uint64_t size);

}  // namespace bpfbox::verifier
