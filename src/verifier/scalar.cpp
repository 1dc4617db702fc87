// Scalar: construction, the soundness predicates, and keeping the five views of a register's value
// (tnum, signed/unsigned 64- and 32-bit ranges) consistent, as the kernel's reg_bounds_sync.
#include <algorithm>
#include <optional>

#include "verifier/scalar.hpp"
#include "verifier/scalar_bounds.hpp"

namespace bpfbox::verifier {

Scalar Scalar::constant(uint64_t v) {
  Scalar s;
  s.var_off = Tnum::constant(v);
  s.smin = s.smax = static_cast<int64_t>(v);
  s.umin = s.umax = v;
  s.s32_min = s.s32_max = static_cast<int32_t>(v);
  s.u32_min = s.u32_max = static_cast<uint32_t>(v);
  return s;
}

Scalar Scalar::constant32(uint32_t v) {
  return constant(v);
}

bool Scalar::contains(uint64_t v) const {
  const auto sv = static_cast<int64_t>(v);
  const auto v32 = static_cast<uint32_t>(v);
  const auto sv32 = static_cast<int32_t>(v);
  return var_off.contains(v) && umin <= v && v <= umax && smin <= sv && sv <= smax &&
         u32_min <= v32 && v32 <= u32_max && s32_min <= sv32 && sv32 <= s32_max;
}

bool Scalar::is_empty() const {
  if (umin > umax || smin > smax || u32_min > u32_max || s32_min > s32_max) return true;
  if (var_off.value & var_off.mask) return true;
  // The tnum's smallest and largest members against the unsigned ranges.
  const Tnum t32 = tnum_subreg(var_off);
  return var_off.value > umax || (var_off.value | var_off.mask) < umin || t32.value > u32_max ||
         (t32.value | t32.mask) < u32_min;
}

void Scalar::sync() {
  // reg_bounds_sync: new bounds from var_off, then the sign bit, then new var_off bits from the
  // bounds, and the bounds once more from the intersected var_off.
  bounds::update_from_tnum(*this);
  bounds::deduce(*this);
  bounds::deduce(*this);
  bounds::deduce(*this);
  bounds::tnum_from_ranges(*this);
  bounds::update_from_tnum(*this);
}

void Scalar::zext32() {
  var_off = tnum_subreg(var_off);
  bounds::assign_32_into_64(*this);
  sync();
}

void Scalar::sext(uint8_t bits) {
  // coerce_reg_to_size_sx: exact for a constant; a range keeps its bounds when all of it lies in
  // one 2^bits block and on one side of that block's sign boundary.
  if (bits >= 64) return;
  const auto extend = [bits](uint64_t v) -> int64_t {
    switch (bits) {
      case 8:
        return static_cast<int8_t>(v);
      case 16:
        return static_cast<int16_t>(v);
      default:
        return static_cast<int32_t>(v);
    }
  };
  if (is_const()) {
    *this = constant(static_cast<uint64_t>(extend(var_off.value)));
    return;
  }
  const uint64_t top_max = (static_cast<uint64_t>(smax) >> bits) << bits;
  const uint64_t top_min = (static_cast<uint64_t>(smin) >> bits) << bits;
  if (top_max == top_min) {
    const int64_t a = extend(static_cast<uint64_t>(smax));
    const int64_t b = extend(static_cast<uint64_t>(smin));
    const int64_t lo = std::min(a, b), hi = std::max(a, b);
    if ((lo >= 0) == (hi >= 0)) {
      smin = lo;
      smax = hi;
      s32_min = static_cast<int32_t>(lo);
      s32_max = static_cast<int32_t>(hi);
      umin = static_cast<uint64_t>(lo);
      umax = static_cast<uint64_t>(hi);
      u32_min = static_cast<uint32_t>(lo);
      u32_max = static_cast<uint32_t>(hi);
      var_off = Tnum::range(umin, umax);
      sync();
      return;
    }
  }
  // set_sext64_default_val: the signed ranges of the narrow type, nothing else.
  const int64_t half = int64_t(1) << (bits - 1);
  *this = unknown();
  smin = -half;
  smax = half - 1;
  s32_min = static_cast<int32_t>(smin);
  s32_max = static_cast<int32_t>(smax);
  sync();
}

void Scalar::truncate(uint8_t size) {
  // coerce_reg_to_size.
  if (size >= 8) return;
  var_off = tnum_cast(var_off, size);
  const uint64_t mask = (uint64_t(1) << (size * 8)) - 1;
  if ((umin & ~mask) == (umax & ~mask)) {
    umin &= mask;
    umax &= mask;
  } else {
    umin = 0;
    umax = mask;
  }
  smin = static_cast<int64_t>(umin);
  smax = static_cast<int64_t>(umax);
  // Below 32 bits the subregister was truncated too: its old bounds say nothing.
  if (size < 4) bounds::mark32_unbounded(*this);
  sync();
}

bool Scalar::within(const Scalar& old) const {
  // range_within(old, cur) && tnum_in(old->var_off, cur->var_off).
  return old.umin <= umin && old.umax >= umax && old.smin <= smin && old.smax >= smax &&
         old.u32_min <= u32_min && old.u32_max >= u32_max && old.s32_min <= s32_min &&
         old.s32_max >= s32_max && old.var_off.includes(var_off);
}

namespace bounds {

void update32_from_tnum(Scalar& s) {
  const Tnum t = tnum_subreg(s.var_off);
  const auto v = static_cast<uint32_t>(t.value), m = static_cast<uint32_t>(t.mask);
  // The signed minimum has the sign bit set if it may be; the maximum has it clear.
  s.s32_min = std::max(s.s32_min, static_cast<int32_t>(v | (m & 0x80000000u)));
  s.s32_max = std::min(s.s32_max, static_cast<int32_t>(v | (m & 0x7fffffffu)));
  s.u32_min = std::max(s.u32_min, v);
  s.u32_max = std::min(s.u32_max, v | m);
}

// The smallest member of t at or above z, if any.
std::optional<uint64_t> tnum_next_at_or_above(Tnum t, uint64_t z) {
  const uint64_t differ = (z ^ t.value) & ~t.mask;
  if (differ == 0) return z;                   // z is a member
  const int p = 63 - __builtin_clzll(differ);  // the highest known bit where z differs
  const uint64_t bit_p = uint64_t(1) << p, below_p = bit_p - 1;
  if (t.value & bit_p)  // raise bit p; the lowest member bits below it
    return (z & ~below_p) | bit_p | (t.value & below_p);
  // Bit p must drop to 0: carry into the lowest unknown bit above p that z has clear.
  const uint64_t free_clear = t.mask & ~z & ~(below_p | bit_p);
  if (free_clear == 0) return std::nullopt;
  const int q = __builtin_ctzll(free_clear);
  const uint64_t bit_q = uint64_t(1) << q, below_q = bit_q - 1;
  return (z & ~below_q) | bit_q | (t.value & below_q);
}

void update64_from_tnum(Scalar& s) {
  const uint64_t v = s.var_off.value, m = s.var_off.mask;
  s.smin = std::max(s.smin, static_cast<int64_t>(v | (m & (uint64_t(1) << 63))));
  s.smax = std::min(s.smax, static_cast<int64_t>(v | (m & ~(uint64_t(1) << 63))));
  s.umin = std::max(s.umin, v);
  s.umax = std::min(s.umax, v | m);
  // 6.18: when the unsigned range and the tnum share a single value, the register is that
  // constant (and when the next member above umin is the tnum's maximum, that one).
  if (m == 0 || s.umin > s.umax) return;
  if (s.var_off.contains(s.umin)) {
    const auto after =
        s.umin == UINT64_MAX ? std::nullopt : tnum_next_at_or_above(s.var_off, s.umin + 1);
    if (!after || *after > s.umax) s = Scalar::constant(s.umin);
    return;
  }
  const auto next = tnum_next_at_or_above(s.var_off, s.umin);
  if (!next) return;
  if (*next == (v | m)) {
    s = Scalar::constant(*next);
    return;
  }
  if (*next <= s.umax) {
    const auto after = tnum_next_at_or_above(s.var_off, *next + 1);
    if (!after || *after > s.umax) s = Scalar::constant(*next);
  }
}

void update_from_tnum(Scalar& s) {
  update32_from_tnum(s);
  update64_from_tnum(s);
}

namespace {

// __reg32_deduce_bounds: the 32-bit ranges from the 64-bit ones where the upper half is fixed (or
// steps by one across the s32 sign boundary), then signed and unsigned 32-bit from each other.
void deduce32(Scalar& s) {
  const auto from64 = [&s](uint64_t lo, uint64_t hi) {
    if ((lo >> 32) == (hi >> 32)) {
      s.u32_min = std::max(s.u32_min, static_cast<uint32_t>(lo));
      s.u32_max = std::min(s.u32_max, static_cast<uint32_t>(hi));
      if (static_cast<int32_t>(lo) <= static_cast<int32_t>(hi)) {
        s.s32_min = std::max(s.s32_min, static_cast<int32_t>(lo));
        s.s32_max = std::min(s.s32_max, static_cast<int32_t>(hi));
      }
    }
  };
  from64(s.umin, s.umax);
  from64(static_cast<uint64_t>(s.smin), static_cast<uint64_t>(s.smax));
  // Upper halves N and N+1 with the low halves on both sides of the s32 sign boundary: the
  // values run [lo32 .. U32_MAX] then [0 .. hi32], one contiguous s32 range.
  const auto wrap = [&s](uint64_t lo, uint64_t hi) {
    if (static_cast<uint32_t>(lo >> 32) + 1 == static_cast<uint32_t>(hi >> 32) &&
        static_cast<int32_t>(lo) < 0 && static_cast<int32_t>(hi) >= 0) {
      s.s32_min = std::max(s.s32_min, static_cast<int32_t>(lo));
      s.s32_max = std::min(s.s32_max, static_cast<int32_t>(hi));
    }
  };
  wrap(s.umin, s.umax);
  wrap(static_cast<uint64_t>(s.smin), static_cast<uint64_t>(s.smax));
  if (static_cast<int32_t>(s.u32_min) <= static_cast<int32_t>(s.u32_max)) {
    s.s32_min = std::max(s.s32_min, static_cast<int32_t>(s.u32_min));
    s.s32_max = std::min(s.s32_max, static_cast<int32_t>(s.u32_max));
  }
  if (static_cast<uint32_t>(s.s32_min) <= static_cast<uint32_t>(s.s32_max)) {
    s.u32_min = std::max(s.u32_min, static_cast<uint32_t>(s.s32_min));
    s.u32_max = std::min(s.u32_max, static_cast<uint32_t>(s.s32_max));
  } else if (s.u32_max < static_cast<uint32_t>(s.s32_min)) {
    // The s32 range crosses the sign boundary, so it is two pieces of the u32 domain; a u32 range
    // missing the upper piece lies in the lower one: [u32_min, min(u32_max, s32_max)].
    s.s32_min = static_cast<int32_t>(s.u32_min);
    s.u32_max = std::min(s.u32_max, static_cast<uint32_t>(s.s32_max));
  } else if (static_cast<uint32_t>(s.s32_max) < s.u32_min) {
    // ... and one missing the lower piece lies in the upper one.
    s.s32_max = static_cast<int32_t>(s.u32_max);
    s.u32_min = std::max(s.u32_min, static_cast<uint32_t>(s.s32_min));
  }
}

// __reg64_deduce_bounds: signed from unsigned and back; a signed range crossing the sign
// boundary is two unsigned pieces, and an unsigned range inside one of them trims the other.
void deduce64(Scalar& s) {
  if (static_cast<int64_t>(s.umin) <= static_cast<int64_t>(s.umax)) {
    s.smin = std::max(s.smin, static_cast<int64_t>(s.umin));
    s.smax = std::min(s.smax, static_cast<int64_t>(s.umax));
  }
  if (static_cast<uint64_t>(s.smin) <= static_cast<uint64_t>(s.smax)) {
    s.umin = std::max(s.umin, static_cast<uint64_t>(s.smin));
    s.umax = std::min(s.umax, static_cast<uint64_t>(s.smax));
  } else if (s.umax < static_cast<uint64_t>(s.smin)) {
    s.smin = static_cast<int64_t>(s.umin);
    s.umax = std::min(s.umax, static_cast<uint64_t>(s.smax));
  } else if (static_cast<uint64_t>(s.smax) < s.umin) {
    s.smax = static_cast<int64_t>(s.umax);
    s.umin = std::max(s.umin, static_cast<uint64_t>(s.smin));
  }
}

// __reg_deduce_mixed_bounds: the 32-bit ranges refine the low half of the 64-bit ends, and a
// non-negative s32 range with a 64-bit range inside s32 pins the 64-bit value to it.
void deduce_mixed(Scalar& s) {
  constexpr uint64_t kHigh = ~uint64_t(0xffffffff);
  s.umin = std::max(s.umin, (s.umin & kHigh) | s.u32_min);
  s.umax = std::min(s.umax, (s.umax & kHigh) | s.u32_max);
  s.smin =
      std::max(s.smin, static_cast<int64_t>((static_cast<uint64_t>(s.smin) & kHigh) | s.u32_min));
  s.smax =
      std::min(s.smax, static_cast<int64_t>((static_cast<uint64_t>(s.smax) & kHigh) | s.u32_max));
  if (s.s32_min >= 0 && s.smin >= INT32_MIN && s.smax <= INT32_MAX) {
    s.smin = s.s32_min;
    s.smax = s.s32_max;
    s.umin = static_cast<uint64_t>(s.s32_min);
    s.umax = static_cast<uint64_t>(s.s32_max);
    s.var_off = tnum_intersect(s.var_off, Tnum::range(s.umin, s.umax));
  }
}

}  // namespace

void deduce(Scalar& s) {
  deduce32(s);
  deduce64(s);
  deduce_mixed(s);
}

void tnum_from_ranges(Scalar& s) {
  const Tnum t64 = tnum_intersect(s.var_off, Tnum::range(s.umin, s.umax));
  const Tnum t32 = tnum_intersect(tnum_subreg(t64), Tnum::range(s.u32_min, s.u32_max));
  s.var_off = tnum_or(tnum_clear_subreg(t64), t32);
}

void mark64_unbounded(Scalar& s) {
  s.smin = INT64_MIN;
  s.smax = INT64_MAX;
  s.umin = 0;
  s.umax = UINT64_MAX;
}

void mark32_unbounded(Scalar& s) {
  s.s32_min = INT32_MIN;
  s.s32_max = INT32_MAX;
  s.u32_min = 0;
  s.u32_max = UINT32_MAX;
}

void mark32_known(Scalar& s, uint32_t v) {
  s.var_off = tnum_const_subreg(s.var_off, v);
  s.s32_min = s.s32_max = static_cast<int32_t>(v);
  s.u32_min = s.u32_max = v;
}

void assign_32_into_64(Scalar& s) {
  s.umin = s.u32_min;
  s.umax = s.u32_max;
  // Non-negative s32 bounds are the s64 bounds of the zero-extended value; otherwise [0, U32_MAX]
  // until the tnum says better.
  if (s.s32_min >= 0 && s.s32_max >= 0) {
    s.smin = s.s32_min;
    s.smax = s.s32_max;
  } else {
    s.smin = 0;
    s.smax = UINT32_MAX;
  }
}

void sext_subreg(Scalar& s, uint8_t bits) {
  const auto extend = [bits](uint32_t v) -> int32_t {
    return bits == 8 ? static_cast<int8_t>(v) : static_cast<int16_t>(v);
  };
  if (s.is_const32()) {
    const auto v = static_cast<uint32_t>(extend(static_cast<uint32_t>(s.var_off.value)));
    s.var_off = Tnum::constant(v);
    s.s32_min = s.s32_max = static_cast<int32_t>(v);
    s.u32_min = s.u32_max = v;
    return;
  }
  const uint32_t top_max = (static_cast<uint32_t>(s.s32_max) >> bits) << bits;
  const uint32_t top_min = (static_cast<uint32_t>(s.s32_min) >> bits) << bits;
  if (top_max == top_min) {
    const int32_t a = extend(static_cast<uint32_t>(s.s32_max));
    const int32_t b = extend(static_cast<uint32_t>(s.s32_min));
    const int32_t lo = std::min(a, b), hi = std::max(a, b);
    if ((lo >= 0) == (hi >= 0)) {
      s.s32_min = lo;
      s.s32_max = hi;
      s.u32_min = static_cast<uint32_t>(lo);
      s.u32_max = static_cast<uint32_t>(hi);
      s.var_off = tnum_subreg(Tnum::range(static_cast<uint32_t>(lo), static_cast<uint32_t>(hi)));
      return;
    }
  }
  // set_sext32_default_val.
  const int32_t half = int32_t(1) << (bits - 1);
  s.var_off = tnum_subreg(Tnum::unknown());
  s.s32_min = -half;
  s.s32_max = half - 1;
  s.u32_min = 0;
  s.u32_max = UINT32_MAX;
}

}  // namespace bounds
}  // namespace bpfbox::verifier
