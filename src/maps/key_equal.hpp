// Key compares for a key size known at compile time: word loads XORed together, the last word
// overlapping the one before when the size is not a multiple of it, instead of a memcmp call
// (a PLT call for 8 bytes on the hash lookup's hot path).
#pragma once

#include <cstdint>
#include <cstring>

namespace bpfbox::maps {

template <uint32_t N>
[[gnu::always_inline]] inline bool keys_equal(const void* x, const void* y) {
  static_assert(N > 0);
  const auto* a = static_cast<const uint8_t*>(x);
  const auto* b = static_cast<const uint8_t*>(y);
  auto diff = [a, b]<class W>(uint32_t off, W) {
    W u, v;
    std::memcpy(&u, a + off, sizeof(W));
    std::memcpy(&v, b + off, sizeof(W));
    return static_cast<W>(u ^ v);
  };
  if constexpr (N >= 8) {
    uint64_t d = 0;
    for (uint32_t i = 0; i + 8 <= N; i += 8) d |= diff(i, uint64_t{});
    if constexpr (N % 8 != 0) d |= diff(N - 8, uint64_t{});
    return d == 0;
  } else if constexpr (N >= 4) {
    return (diff(0, uint32_t{}) | diff(N - 4, uint32_t{})) == 0;
  } else if constexpr (N >= 2) {
    return (diff(0, uint16_t{}) | diff(N - 2, uint16_t{})) == 0;
  } else {
    return *a == *b;
  }
}

}  // namespace bpfbox::maps
