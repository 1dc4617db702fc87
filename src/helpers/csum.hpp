// The Internet checksum arithmetic the kernel's csum helpers use (include/net/checksum.h and the
// x86-64 csum_partial), so that bpf_csum_diff and the l3/l4 replace helpers give the kernel's bits.
// A __wsum is a 32-bit one's-complement partial sum; a __sum16 is the folded, inverted result.
#pragma once

#include <cstdint>

namespace bpfbox::helpers {

// One's-complement sum of len bytes (16-bit words in memory order) added to seed, as a 32-bit
// partial sum.
uint32_t csum_partial(const void* buf, uint64_t len, uint32_t seed);

inline uint32_t csum_add(uint32_t csum, uint32_t addend) {
  uint32_t res = csum + addend;
  return res + (res < addend);
}
inline uint32_t csum_sub(uint32_t csum, uint32_t addend) {
  return csum_add(csum, ~addend);
}
// Folds a partial sum to 16 bits and inverts it: the checksum field's value.
inline uint16_t csum_fold(uint32_t csum) {
  uint32_t sum = (csum & 0xffff) + (csum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}
// Folds a partial sum to 16 bits without inverting it (csum_from32to16).
inline uint16_t csum_from32to16(uint32_t sum) {
  sum += (sum >> 16) | (sum << 16);
  return static_cast<uint16_t>(sum >> 16);
}
inline uint16_t csum16_add(uint16_t csum, uint16_t addend) {
  uint16_t res = static_cast<uint16_t>(csum + addend);
  return static_cast<uint16_t>(res + (res < addend));
}
inline uint16_t csum16_sub(uint16_t csum, uint16_t addend) {
  return csum16_add(csum, static_cast<uint16_t>(~addend));
}

}  // namespace bpfbox::helpers
