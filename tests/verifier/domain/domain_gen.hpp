// Random abstract values and random concrete members of them, for the property tests of the
// numeric domain. Shapes cover what the verifier meets: constants, small and wide ranges, tnums
// with a few unknown bits, ranges straddling 0 or the sign boundary, knowledge of the low 32 bits
// only, extreme values, and values derived from others by an operation or a comparison.
#pragma once

#include <cstdint>
#include <optional>
#include <random>

#include "verifier/scalar.hpp"

namespace bpfbox::verifier::test {

class DomainGen {
 public:
  explicit DomainGen(uint64_t seed) : rng_(seed) {}

  uint64_t bits() { return rng_(); }
  uint64_t below(uint64_t n) { return n ? rng_() % n : 0; }
  bool coin() { return rng_() & 1; }

  // A value biased towards the edges: 0, ±1, small, powers of two and their neighbours, the
  // 32- and 64-bit sign boundaries, fully random.
  uint64_t interesting();
  // A random tnum with a few unknown bits (or many, or none).
  Tnum tnum();
  // A synced, non-empty abstract value of a random shape.
  Scalar scalar();
  // A concrete value the abstract one contains, or nullopt when none was found.
  std::optional<uint64_t> member(const Scalar& s);
  // A concrete value the tnum contains.
  uint64_t member(Tnum t) { return t.value | (rng_() & t.mask); }

 private:
  Scalar shape(int depth);
  uint64_t candidate(const Scalar& s);

  std::mt19937_64 rng_;
};

}  // namespace bpfbox::verifier::test
