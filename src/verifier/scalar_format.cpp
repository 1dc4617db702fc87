// Scalar::to_string: the bounds as the kernel's verifier log prints them (print_scalar_ranges and
// print_reg_state in kernel/bpf/log.c): bounds at their defaults omitted, equal bounds of the
// same sign merged ("smax=umax=255"), small numbers in decimal and large ones in hex, var_off
// unless it is fully unknown.
#include <cinttypes>
#include <cstdio>

#include "verifier/scalar.hpp"

namespace bpfbox::verifier {
namespace {

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);
  return buf;
}

// verbose_unum and verbose_snum: decimal up to U16_MAX, or within [S16_MIN, S16_MAX]; hex beyond.
bool is_snum_decimal(int64_t v) {
  return v >= INT16_MIN && v <= INT16_MAX;
}

std::string unum(uint64_t v) {
  return v <= UINT16_MAX ? std::to_string(v) : hex(v);
}

std::string snum(uint64_t v) {
  const auto s = static_cast<int64_t>(v);
  return is_snum_decimal(s) ? std::to_string(s) : hex(v);
}

}  // namespace

std::string Scalar::to_string() const {
  if (is_const()) return snum(var_off.value);
  struct Bound {
    const char* name;
    uint64_t val;
    bool omit;
  };
  // 32-bit signed bounds are sign-extended only when printed in decimal: in hex, -2 is 0xfffffffe.
  const auto s32 = [](int32_t v) -> uint64_t {
    return is_snum_decimal(v) ? static_cast<uint64_t>(static_cast<int64_t>(v))
                              : static_cast<uint32_t>(v);
  };
  Bound b[] = {
      {"smin", static_cast<uint64_t>(smin), smin == INT64_MIN},
      {"smax", static_cast<uint64_t>(smax), smax == INT64_MAX},
      {"umin", umin, umin == 0},
      {"umax", umax, umax == UINT64_MAX},
      {"smin32", s32(s32_min), s32_min == INT32_MIN},
      {"smax32", s32(s32_max), s32_max == INT32_MAX},
      {"umin32", u32_min, u32_min == 0},
      {"umax32", u32_max, u32_max == UINT32_MAX},
  };
  constexpr int n = sizeof b / sizeof b[0];
  std::string out;
  for (int i = 0; i < n; ++i) {
    if (b[i].omit) continue;
    if (!out.empty()) out += ',';
    out += b[i].name;
    out += '=';
    const bool neg = b[i].name[0] == 's' && static_cast<int64_t>(b[i].val) < 0;
    // Later bounds of the same kind (min or max) with the same value join this one.
    for (int j = i + 2; j < n; j += 2) {
      if (b[j].omit || b[j].val != b[i].val) continue;
      const bool neg_j = b[j].name[0] == 's' && static_cast<int64_t>(b[j].val) < 0;
      if (neg_j != neg) continue;
      b[j].omit = true;
      out += b[j].name;
      out += '=';
    }
    out += b[i].name[0] == 's' ? snum(b[i].val) : unum(b[i].val);
  }
  if (!var_off.is_unknown()) {
    if (!out.empty()) out += ',';
    out += "var_off=" + var_off.to_string();
  }
  return out;
}

}  // namespace bpfbox::verifier
