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

inline uint32_t jhash(const void* key, uint32_t length, uint32_t initval) {
  const uint8_t* k = static_cast<const uint8_t*>(key);
  uint32_t a, b, c;
  a = b = c = 0xdeadbeefu + length + initval;
  auto word = [](const uint8_t* p) {
    uint32_t w;
    std::memcpy(&w, p, 4);
    return w;
  };
  while (length > 12) {
    a += word(k);
    b += word(k + 4);
    c += word(k + 8);
    a -= c;
    a ^= rol32(c, 4);
    c += b;  // NOLINT
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
      break;
    default:
      break;
  }
  return c;
}

}  // namespace bpfbox::maps
