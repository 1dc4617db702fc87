// The transfer functions of the ALU operations on scalars: adjust_scalar_min_max_vals and the
// scalar{32,}_min_max_* functions of the kernel's verifier, with their overflow handling, and the
// same order of updates (so the bounds, and the log, are the kernel's). Division, modulo and byte
// swaps, which the kernel marks unknown, are tracked here (sound and at least as precise).
#include <linux/bpf.h>

#include <algorithm>
#include <limits>
#include <type_traits>

#include "verifier/scalar.hpp"
#include "verifier/scalar_bounds.hpp"

namespace bpfbox::verifier {
namespace {

// One width's signed and unsigned range of a Scalar, so each operation is written once for
// 32 and 64 bits.
template <typename U>
struct Range {
  using S = std::make_signed_t<U>;
  S& smin;
  S& smax;
  U& umin;
  U& umax;
};

Range<uint64_t> range64(Scalar& s) {
  return {s.smin, s.smax, s.umin, s.umax};
}
Range<uint32_t> range32(Scalar& s) {
  return {s.s32_min, s.s32_max, s.u32_min, s.u32_max};
}
Range<uint64_t> range64(const Scalar& s) {
  return range64(const_cast<Scalar&>(s));
}
Range<uint32_t> range32(const Scalar& s) {
  return range32(const_cast<Scalar&>(s));
}

template <typename U>
Range<U> range_of(Scalar& s) {
  if constexpr (sizeof(U) == 8)
    return range64(s);
  else
    return range32(s);
}

template <typename U>
Range<U> range_of(const Scalar& s) {
  return range_of<U>(const_cast<Scalar&>(s));
}

// The var_off bits of one width.
template <typename U>
Tnum tnum_of(const Scalar& s) {
  return sizeof(U) == 8 ? s.var_off : tnum_subreg(s.var_off);
}

template <typename U>
bool is_const_in(const Scalar& s) {
  return tnum_of<U>(s).is_const();
}

template <typename U>
void mark_unbounded(Range<U> r) {
  using S = typename Range<U>::S;
  r.smin = std::numeric_limits<S>::min();
  r.smax = std::numeric_limits<S>::max();
  r.umin = 0;
  r.umax = std::numeric_limits<U>::max();
}

template <typename U>
void min_max_add(Range<U> d, Range<U> s) {
  using S = typename Range<U>::S;
  S lo, hi;
  if (__builtin_add_overflow(d.smin, s.smin, &lo) || __builtin_add_overflow(d.smax, s.smax, &hi)) {
    d.smin = std::numeric_limits<S>::min();
    d.smax = std::numeric_limits<S>::max();
  } else {
    d.smin = lo;
    d.smax = hi;
  }
  // All sums wrapping, or none, keeps the range; only the maximum wrapping splits it.
  const bool min_overflow = __builtin_add_overflow(d.umin, s.umin, &d.umin);
  const bool max_overflow = __builtin_add_overflow(d.umax, s.umax, &d.umax);
  if (!min_overflow && max_overflow) {
    d.umin = 0;
    d.umax = std::numeric_limits<U>::max();
  }
}

template <typename U>
void min_max_sub(Range<U> d, Range<U> s) {
  using S = typename Range<U>::S;
  S lo, hi;
  if (__builtin_sub_overflow(d.smin, s.smax, &lo) || __builtin_sub_overflow(d.smax, s.smin, &hi)) {
    d.smin = std::numeric_limits<S>::min();
    d.smax = std::numeric_limits<S>::max();
  } else {
    d.smin = lo;
    d.smax = hi;
  }
  const U src_umin = s.umin, src_umax = s.umax;
  const bool min_underflow = __builtin_sub_overflow(d.umin, src_umax, &d.umin);
  const bool max_underflow = __builtin_sub_overflow(d.umax, src_umin, &d.umax);
  if (min_underflow && !max_underflow) {
    d.umin = 0;
    d.umax = std::numeric_limits<U>::max();
  }
}

template <typename U>
void min_max_mul(Range<U> d, Range<U> s) {
  using S = typename Range<U>::S;
  U umax, umin;
  if (__builtin_mul_overflow(d.umax, s.umax, &umax) ||
      __builtin_mul_overflow(d.umin, s.umin, &umin)) {
    d.umin = 0;
    d.umax = std::numeric_limits<U>::max();
  } else {
    d.umin = umin;
    d.umax = umax;
  }
  S p[4];
  if (__builtin_mul_overflow(d.smin, s.smin, &p[0]) ||
      __builtin_mul_overflow(d.smin, s.smax, &p[1]) ||
      __builtin_mul_overflow(d.smax, s.smin, &p[2]) ||
      __builtin_mul_overflow(d.smax, s.smax, &p[3])) {
    d.smin = std::numeric_limits<S>::min();
    d.smax = std::numeric_limits<S>::max();
  } else {
    d.smin = *std::min_element(p, p + 4);
    d.smax = *std::max_element(p, p + 4);
  }
}

// Signed bounds of a bitwise result: its unsigned range when that does not cross the sign bit.
template <typename U>
void signed_from_unsigned(Range<U> d) {
  using S = typename Range<U>::S;
  if (static_cast<S>(d.umin) <= static_cast<S>(d.umax)) {
    d.smin = static_cast<S>(d.umin);
    d.smax = static_cast<S>(d.umax);
  } else {
    d.smin = std::numeric_limits<S>::min();
    d.smax = std::numeric_limits<S>::max();
  }
}

// Marks one width of dst a known constant (its var_off bits are already the result's).
template <typename U>
void mark_known_in(Scalar& dst, U v) {
  if constexpr (sizeof(U) == 8)
    dst = Scalar::constant(v);
  else
    bounds::mark32_known(dst, v);
}

// and/or/xor: var_off already holds the result's bits. The unsigned range comes from those bits
// and the operands' ranges, the signed one from the unsigned.
template <typename U>
void min_max_bitwise(Scalar& dst, const Scalar& src, uint8_t op) {
  const Tnum t = tnum_of<U>(dst);
  if (t.is_const() && is_const_in<U>(src)) {
    mark_known_in<U>(dst, static_cast<U>(t.value));
    return;
  }
  Range<U> d = range_of<U>(dst);
  const Range<U> s = range_of<U>(src);
  const auto v = static_cast<U>(t.value), m = static_cast<U>(t.mask);
  switch (op) {
    case BPF_AND:
      d.umin = v;
      d.umax = std::min(d.umax, s.umax);
      break;
    case BPF_OR:
      d.umin = std::max(d.umin, s.umin);
      d.umax = v | m;
      break;
    default:  // BPF_XOR
      d.umin = v;
      d.umax = v | m;
      break;
  }
  signed_from_unsigned(d);
  if constexpr (sizeof(U) == 8) bounds::update_from_tnum(dst);
}

// Left shift by a constant in [umin, umax] (here always equal), __scalar{32,64}_min_max_lsh.
void lsh32_bounds(Scalar& d, uint64_t umin_val, uint64_t umax_val) {
  d.s32_min = INT32_MIN;
  d.s32_max = INT32_MAX;
  if (umax_val > 31 || d.u32_max > (uint64_t(1) << (31 - umax_val))) {
    d.u32_min = 0;
    d.u32_max = UINT32_MAX;
  } else {
    d.u32_min <<= umin_val;
    d.u32_max <<= umax_val;
  }
}

void lsh64_bounds(Scalar& d, uint64_t umin_val, uint64_t umax_val) {
  // <<32 of a non-negative s32 is the common sign-extension idiom (<<32 s>>32): keep the sign.
  const bool by32 = umin_val == 32 && umax_val == 32;
  d.smax = by32 && d.s32_max >= 0 ? static_cast<int64_t>(d.s32_max) << 32 : INT64_MAX;
  d.smin = by32 && d.s32_min >= 0 ? static_cast<int64_t>(d.s32_min) << 32 : INT64_MIN;
  if (d.umax > (uint64_t(1) << (63 - umax_val))) {
    d.umin = 0;
    d.umax = UINT64_MAX;
  } else {
    d.umin <<= umin_val;
    d.umax <<= umax_val;
  }
}

void shift32(Scalar& d, uint8_t op, uint8_t n) {
  const Tnum sub = tnum_subreg(d.var_off);
  switch (op) {
    case BPF_LSH:
      lsh32_bounds(d, n, n);
      d.var_off = tnum_subreg(tnum_lshift(sub, n));
      break;
    case BPF_RSH:
      d.s32_min = INT32_MIN;
      d.s32_max = INT32_MAX;
      d.var_off = tnum_rshift(sub, n);
      d.u32_min >>= n;
      d.u32_max >>= n;
      break;
    default:  // BPF_ARSH
      d.s32_min >>= n;
      d.s32_max >>= n;
      d.var_off = tnum_arshift(sub, n, 32);
      d.u32_min = 0;
      d.u32_max = UINT32_MAX;
      break;
  }
  bounds::mark64_unbounded(d);
  bounds::update32_from_tnum(d);
}

void shift64(Scalar& d, uint8_t op, uint8_t n) {
  switch (op) {
    case BPF_LSH:
      lsh64_bounds(d, n, n);  // reads the unshifted 32-bit bounds: first
      lsh32_bounds(d, n, n);
      d.var_off = tnum_lshift(d.var_off, n);
      break;
    case BPF_RSH:
      d.smin = INT64_MIN;
      d.smax = INT64_MAX;
      d.var_off = tnum_rshift(d.var_off, n);
      d.umin >>= n;
      d.umax >>= n;
      bounds::mark32_unbounded(d);
      break;
    default:  // BPF_ARSH
      d.smin >>= n;
      d.smax >>= n;
      d.var_off = tnum_arshift(d.var_off, n, 64);
      d.umin = 0;
      d.umax = UINT64_MAX;
      bounds::mark32_unbounded(d);
      break;
  }
  bounds::update_from_tnum(d);
}

// Forgets one width: its ranges and its var_off bits (all 64 for U = uint64_t).
template <typename U>
void forget(Scalar& d) {
  if constexpr (sizeof(U) == 8) {
    d = Scalar::unknown();
  } else {
    bounds::mark32_unbounded(d);
    d.var_off = tnum_with_subreg(d.var_off, Tnum::unknown());
  }
}

// The run-time result of dst OP src in one width, for operands known exactly.
template <typename U>
U fold(uint8_t op, bool is_signed, U a, U b) {
  using S = std::make_signed_t<U>;
  const auto sa = static_cast<S>(a), sb = static_cast<S>(b);
  if (op == BPF_DIV) {
    if (b == 0) return 0;
    if (!is_signed) return a / b;
    if (sa == std::numeric_limits<S>::min() && sb == -1) return a;
    return static_cast<U>(sa / sb);
  }
  // BPF_MOD
  if (b == 0) return a;
  if (!is_signed) return a % b;
  if (sb == -1) return 0;
  return static_cast<U>(sa % sb);
}

// Unsigned division and modulo by a divisor in [s.umin, s.umax]. By zero, division gives 0 and
// modulo leaves dst.
template <typename U>
void div_mod_unsigned(Scalar& dst, const Scalar& src, uint8_t op) {
  const Range<U> s = range_of<U>(src);
  Range<U> d = range_of<U>(dst);
  const U lo = d.umin, hi = d.umax;
  if (op == BPF_DIV) {
    const U min = s.umin == 0 ? 0 : static_cast<U>(lo / s.umax);
    const U max = s.umax == 0 ? 0 : static_cast<U>(hi / std::max<U>(s.umin, 1));
    forget<U>(dst);
    d.umin = min;
    d.umax = max;
  } else {
    if (s.umax == 0 || hi < s.umin) return;  // every divisor is 0 or above dst: dst unchanged
    const U max = s.umin == 0 ? hi : std::min<U>(hi, s.umax - 1);
    forget<U>(dst);
    d.umax = max;
  }
  signed_from_unsigned(d);
}

// Signed division and modulo (off == 1). The quotient truncates toward zero, so for each sign of
// the divisor its extremes are at the corners of the operand ranges; MIN / -1 wraps to MIN.
template <typename U>
void div_mod_signed(Scalar& dst, const Scalar& src, uint8_t op) {
  using S = std::make_signed_t<U>;
  using Wide = __int128;
  const Range<U> s = range_of<U>(src);
  Range<U> d = range_of<U>(dst);
  const S lo = d.smin, hi = d.smax;
  const S smin = s.smin, smax = s.smax;
  constexpr Wide kMin = std::numeric_limits<S>::min(), kMax = std::numeric_limits<S>::max();
  const bool zero_divisor = smin <= 0 && smax >= 0;
  if (smin == 0 && smax == 0) {
    if (op == BPF_MOD) return;  // dst unchanged
    mark_known_in<U>(dst, 0);
    return;
  }
  Wide rmin, rmax;
  if (op == BPF_DIV) {
    rmin = kMax + 1;
    rmax = kMin - 1;
    const auto corners = [&](Wide y0, Wide y1) {
      for (Wide x : {Wide(lo), Wide(hi)})
        for (Wide y : {y0, y1}) {
          const Wide q = x / y;
          rmin = std::min(rmin, q);
          rmax = std::max(rmax, q);
        }
    };
    if (smin < 0) corners(smin, std::min<Wide>(smax, -1));
    if (smax > 0) corners(std::max<Wide>(smin, 1), smax);
    if (zero_divisor) {
      rmin = std::min<Wide>(rmin, 0);
      rmax = std::max<Wide>(rmax, 0);
    }
    if (rmax > kMax) {  // MIN / -1: the quotient 2^(w-1) wraps to MIN
      rmin = kMin;
      rmax = kMax;
    }
  } else {
    // |remainder| < |divisor| and <= |dst|, with the sign of dst.
    const Wide largest = std::max(-Wide(smin), Wide(smax));
    rmin = lo >= 0 ? 0 : std::max<Wide>(lo, -(largest - 1));
    rmax = hi <= 0 ? 0 : std::min<Wide>(hi, largest - 1);
    if (zero_divisor) {
      rmin = std::min<Wide>(rmin, lo);
      rmax = std::max<Wide>(rmax, hi);
    }
  }
  forget<U>(dst);
  d.smin = static_cast<S>(rmin);
  d.smax = static_cast<S>(rmax);
}

template <typename U>
void div_mod(Scalar& dst, const Scalar& src, uint8_t op, bool is_signed) {
  if (is_const_in<U>(dst) && is_const_in<U>(src)) {
    const U r = fold<U>(op, is_signed, static_cast<U>(tnum_of<U>(dst).value),
                        static_cast<U>(tnum_of<U>(src).value));
    if constexpr (sizeof(U) == 8) {
      dst = Scalar::constant(r);
    } else {
      bounds::mark32_known(dst, r);
    }
    return;
  }
  if (is_signed)
    div_mod_signed<U>(dst, src, op);
  else
    div_mod_unsigned<U>(dst, src, op);
}

// The bytes of a tnum reversed within the low `bytes` bytes: a byte swap is exact on known bits.
Tnum tnum_bswap(Tnum a, int bytes) {
  switch (bytes) {
    case 2:
      return {__builtin_bswap16(uint16_t(a.value)), __builtin_bswap16(uint16_t(a.mask))};
    case 4:
      return {__builtin_bswap32(uint32_t(a.value)), __builtin_bswap32(uint32_t(a.mask))};
    default:
      return {__builtin_bswap64(a.value), __builtin_bswap64(a.mask)};
  }
}

void mov(Scalar& dst, const Scalar& src, bool alu64, int16_t off) {
  dst = src;
  if (alu64) {
    if (off == 8 || off == 16 || off == 32) dst.sext(static_cast<uint8_t>(off));
    return;
  }
  if (off == 8 || off == 16) bounds::sext_subreg(dst, static_cast<uint8_t>(off));
  dst.zext32();
}

}  // namespace

void scalar_alu(Scalar& dst, const Scalar& src, uint8_t op, bool alu64, int16_t off) {
  switch (op) {
    case BPF_MOV:
      mov(dst, src, alu64, off);
      return;
    case BPF_NEG:
      scalar_neg(dst, alu64);
      return;
    case BPF_ADD:
      min_max_add(range32(dst), range32(src));
      min_max_add(range64(dst), range64(src));
      dst.var_off = tnum_add(dst.var_off, src.var_off);
      break;
    case BPF_SUB:
      min_max_sub(range32(dst), range32(src));
      min_max_sub(range64(dst), range64(src));
      dst.var_off = tnum_sub(dst.var_off, src.var_off);
      break;
    case BPF_MUL:
      dst.var_off = tnum_mul(dst.var_off, src.var_off);
      min_max_mul(range32(dst), range32(src));
      min_max_mul(range64(dst), range64(src));
      break;
    case BPF_AND:
    case BPF_OR:
    case BPF_XOR: {
      dst.var_off = op == BPF_AND  ? tnum_and(dst.var_off, src.var_off)
                    : op == BPF_OR ? tnum_or(dst.var_off, src.var_off)
                                   : tnum_xor(dst.var_off, src.var_off);
      min_max_bitwise<uint32_t>(dst, src, op);
      if (alu64) min_max_bitwise<uint64_t>(dst, src, op);
      break;
    }
    case BPF_LSH:
    case BPF_RSH:
    case BPF_ARSH: {
      // The kernel tracks a shift by a known amount below the width; the engines mask the
      // amount, so a known amount of any size is tracked here.
      const bool known = alu64 ? src.is_const() : src.is_const32();
      if (!known) {
        if (alu64)
          dst = Scalar::unknown();
        else
          forget<uint32_t>(dst);
        break;
      }
      const auto n = static_cast<uint8_t>(src.var_off.value & (alu64 ? 63 : 31));
      if (alu64)
        shift64(dst, op, n);
      else
        shift32(dst, op, n);
      break;
    }
    case BPF_DIV:
    case BPF_MOD:
      if (alu64)
        div_mod<uint64_t>(dst, src, op, off == 1);
      else
        div_mod<uint32_t>(dst, src, op, off == 1);
      break;
    default:
      dst = Scalar::unknown();
      return;
  }
  if (!alu64) {
    dst.zext32();
    return;
  }
  dst.sync();
}

void scalar_neg(Scalar& dst, bool alu64) {
  // 0 - dst, with the transfer function of subtraction.
  const Scalar src = dst;
  dst = Scalar::constant(0);
  min_max_sub(range32(dst), range32(src));
  min_max_sub(range64(dst), range64(src));
  dst.var_off = tnum_neg(src.var_off);
  if (!alu64) {
    dst.zext32();
    return;
  }
  dst.sync();
}

void scalar_endian(Scalar& dst, uint8_t code, int32_t imm) {
  const int bytes = imm / 8;
  if (bytes != 2 && bytes != 4 && bytes != 8) {
    dst = Scalar::unknown();
    return;
  }
  // BPF_ALU | BPF_TO_LE on this little-endian host only truncates; to_be and bswap swap.
  const bool swap = BPF_CLASS(code) == BPF_ALU64 || BPF_SRC(code) == BPF_TO_BE;
  if (!swap) {
    dst.truncate(static_cast<uint8_t>(bytes));
    return;
  }
  const Tnum t = tnum_bswap(dst.var_off, bytes);
  dst = Scalar::unknown();
  dst.var_off = t;
  dst.sync();
}

}  // namespace bpfbox::verifier
