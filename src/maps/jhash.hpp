// Bob Jenkins' lookup3 hash as the kernel's <linux/jhash.h> computes it (jhash, and jhash2 which
// equals jhash on little-endian machines), so that with BPF_F_ZERO_SEED bpfbox's hash maps put keys
// in the kernel's buckets and get_next_key walks them in the kernel's order.
#pragma once

#include <cstdint>
#include <cstring>

namespace bpfbox::maps {

inline uint32_t rol32(uint32_t w, unsigned s) {
  return (w << s) | (w >> (32 - s));
}

// __jhash_mix and __jhash_final.
[[gnu::always_inline]] inline void jhash_mix(uint32_t& a, uint32_t& b, uint32_t& c) {
  a -= c;
  a ^= rol32(c, 4);
  c += b;
  b -= a;
  b ^= rol32(a, 6);
  a += c;
  c -= b;
  c ^= rol32(b, 8);
  b += a;
  a -= c;
  a ^= rol32(c, 16);
  c += b;
  b -= a;
  b ^= rol32(a, 19);
  a += c;
  c -= b;
  c ^= rol32(b, 4);
  b += a;
}
[[gnu::always_inline]] inline void jhash_final(uint32_t& a, uint32_t& b, uint32_t& c) {
  c ^= b;
  c -= rol32(b, 14);
  a ^= c;
  a -= rol32(c, 11);
  b ^= a;
  b -= rol32(a, 25);
  c ^= b;
  c -= rol32(b, 16);
  a ^= c;
  a -= rol32(c, 4);
  b ^= a;
  b -= rol32(a, 14);
  c ^= b;
  c -= rol32(b, 24);
}

inline uint32_t jhash_word(const uint8_t* p) {
  uint32_t w;
  std::memcpy(&w, p, 4);
  return w;
}

inline uint32_t jhash(const void* key, uint32_t length, uint32_t initval) {
  const uint8_t* k = static_cast<const uint8_t*>(key);
  uint32_t a, b, c;
  a = b = c = 0xdeadbeefu + length + initval;
  while (length > 12) {
    a += jhash_word(k);
    b += jhash_word(k + 4);
    c += jhash_word(k + 8);
    jhash_mix(a, b, c);
    length -= 12;
    k += 12;
  }
  switch (length) {
    case 12:
      c += uint32_t(k[11]) << 24;
      [[fallthrough]];
    case 11:
      c += uint32_t(k[10]) << 16;
      [[fallthrough]];
    case 10:
      c += uint32_t(k[9]) << 8;
      [[fallthrough]];
    case 9:
      c += k[8];
      [[fallthrough]];
    case 8:
      b += uint32_t(k[7]) << 24;
      [[fallthrough]];
    case 7:
      b += uint32_t(k[6]) << 16;
      [[fallthrough]];
    case 6:
      b += uint32_t(k[5]) << 8;
      [[fallthrough]];
    case 5:
      b += k[4];
      [[fallthrough]];
    case 4:
      a += uint32_t(k[3]) << 24;
      [[fallthrough]];
    case 3:
      a += uint32_t(k[2]) << 16;
      [[fallthrough]];
    case 2:
      a += uint32_t(k[1]) << 8;
      [[fallthrough]];
    case 1:
      a += k[0];
      jhash_final(a, b, c);
      break;
    default:
      break;
  }
  return c;
}

// jhash(key, N, initval) for a length known at compile time (N > 0): the blocks unroll and the
// tail is at most three little-endian partial-word loads instead of a byte switch. Same values.
template <uint32_t N>
[[gnu::always_inline]] inline uint32_t jhash_fixed(const void* key, uint32_t initval) {
  static_assert(N > 0);
  const uint8_t* k = static_cast<const uint8_t*>(key);
  uint32_t a, b, c;
  a = b = c = 0xdeadbeefu + N + initval;
  constexpr uint32_t kBlocks = (N - 1) / 12;  // the tail keeps 1..12 bytes, as the loop above
  for (uint32_t i = 0; i < kBlocks; ++i, k += 12) {
    a += jhash_word(k);
    b += jhash_word(k + 4);
    c += jhash_word(k + 8);
    jhash_mix(a, b, c);
  }
  constexpr uint32_t kTail = N - 12 * kBlocks;
  // The byte switch adds k[i] << 8 * (i % 4) to word i / 4: a little-endian load of that part.
  auto part = [k](uint32_t off, uint32_t n) {
    uint32_t w = 0;
    std::memcpy(&w, k + off, n);
    return w;
  };
  a += part(0, kTail < 4 ? kTail : 4);
  if constexpr (kTail > 4) b += part(4, kTail < 8 ? kTail - 4 : 4);
  if constexpr (kTail > 8) c += part(8, kTail - 8);
  jhash_final(a, b, c);
  return c;
}

}  // namespace bpfbox::maps
