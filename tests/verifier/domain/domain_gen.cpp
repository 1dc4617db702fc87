#include "domain_gen.hpp"

#include <linux/bpf.h>

namespace bpfbox::verifier::test {

uint64_t DomainGen::interesting() {
  const uint64_t small = below(34);
  switch (below(10)) {
    case 0:
      return small;
    case 1:
      return uint64_t(0) - small;
    case 2:
      return (uint64_t(1) << below(64)) + below(3) - 1;
    case 3:
      return (uint64_t(1) << 63) + below(5) - 2;  // the s64 sign boundary
    case 4:
      return (uint64_t(1) << 31) + below(5) - 2;  // the s32 sign boundary
    case 5:
      return (uint64_t(1) << 32) + below(5) - 2;
    case 6:
      return uint32_t(bits());
    case 7:
      return uint64_t(int64_t(int32_t(bits())));
    case 8:
      return bits() >> below(64);
    default:
      return bits();
  }
}

Tnum DomainGen::tnum() {
  uint64_t mask = 0;
  switch (below(6)) {
    case 0:
      break;
    case 1:  // a few scattered unknown bits
      for (uint64_t n = 1 + below(6); n; --n) mask |= uint64_t(1) << below(64);
      break;
    case 2:
      mask = (uint64_t(1) << below(64)) - 1;
      break;  // the low bits
    case 3:
      mask = ~uint64_t(0) << below(64);
      break;  // the high bits
    case 4:
      mask = ((uint64_t(1) << below(16)) - 1) << below(48);
      break;  // a window
    default:
      mask = bits() & bits();
      break;
  }
  const uint64_t v = coin() ? interesting() : bits();
  return {v & ~mask, mask};
}

Scalar DomainGen::shape(int depth) {
  Scalar s;
  const uint64_t a = interesting();
  const uint64_t width = coin() ? below(40) : interesting() >> below(64);
  switch (below(depth > 0 ? 12 : 10)) {
    case 0:
      return Scalar::constant(a);
    case 1:
      return Scalar::constant32(uint32_t(a));
    case 2:  // unsigned range
      s.umin = a;
      s.umax = a + width < a ? UINT64_MAX : a + width;
      break;
    case 3: {  // signed range, often straddling 0
      const int64_t lo = -int64_t(below(1000)) * (coin() ? 1 : 1000000);
      s.smin = lo;
      s.smax = lo + int64_t(width >> 2);
      if (s.smax < s.smin) s.smax = INT64_MAX;
      break;
    }
    case 4:
      s.var_off = tnum();
      break;
    case 5: {  // 32-bit knowledge only
      const uint32_t lo = uint32_t(a),
                     hi = uint32_t(a + width) < lo ? UINT32_MAX : uint32_t(a + width);
      if (coin()) {
        s.u32_min = lo;
        s.u32_max = hi;
      } else {
        s.s32_min = int32_t(lo) < int32_t(hi) ? int32_t(lo) : int32_t(hi);
        s.s32_max = int32_t(lo) < int32_t(hi) ? int32_t(hi) : int32_t(lo);
      }
      if (coin()) s.var_off = tnum_with_subreg(Tnum::unknown(), tnum());
      break;
    }
    case 6:
      return Scalar::unknown();
    case 7: {  // around the sign boundaries and the ends
      const uint64_t centre = coin() ? (uint64_t(1) << 63) : coin() ? 0 : (uint64_t(1) << 31);
      s.umin = centre - below(100);
      s.umax = centre + below(100);
      if (s.umax < s.umin) std::swap(s.umin, s.umax);
      break;
    }
    case 8:  // a range and a tnum together
      s.umin = a;
      s.umax = a + width < a ? UINT64_MAX : a + width;
      s.var_off = tnum();
      break;
    case 9:  // a zero-extended 32-bit value
      s.var_off = Tnum{0, 0xffffffff};
      s.umax = coin() ? UINT32_MAX : uint32_t(a);
      break;
    case 10: {  // derived by an operation with a constant
      s = shape(depth - 1);
      static constexpr uint8_t kOps[] = {BPF_ADD, BPF_SUB, BPF_MUL, BPF_AND, BPF_OR,
                                         BPF_XOR, BPF_LSH, BPF_RSH, BPF_ARSH};
      const uint8_t op = kOps[below(sizeof kOps)];
      const uint64_t k = op >= BPF_LSH && op <= BPF_ARSH ? below(64) : interesting();
      scalar_alu(s, Scalar::constant(k), op, coin());
      return s;
    }
    default: {  // derived by a comparison with a constant or another value
      s = shape(depth - 1);
      static constexpr uint8_t kJmps[] = {BPF_JEQ,  BPF_JNE,  BPF_JGT,  BPF_JGE,  BPF_JLT, BPF_JLE,
                                          BPF_JSGT, BPF_JSGE, BPF_JSLT, BPF_JSLE, BPF_JSET};
      Scalar other = coin() ? Scalar::constant(interesting()) : shape(depth - 1);
      if (!scalar_refine(s, other, kJmps[below(sizeof kJmps)], coin(), coin())) return shape(0);
      return s;
    }
  }
  s.sync();
  return s;
}

Scalar DomainGen::scalar() {
  for (;;) {
    Scalar s = shape(2);
    if (!s.is_empty()) return s;
  }
}

uint64_t DomainGen::candidate(const Scalar& s) {
  const auto in = [this](uint64_t lo, uint64_t hi) {
    return hi - lo == UINT64_MAX ? bits() : lo + below(hi - lo + 1);
  };
  const auto edge = [this](uint64_t v) { return v + below(5) - 2; };
  switch (below(12)) {
    case 0:
      return edge(s.umin);
    case 1:
      return edge(s.umax);
    case 2:
      return edge(uint64_t(s.smin));
    case 3:
      return edge(uint64_t(s.smax));
    case 4:
      return member(s.var_off);
    case 5:
      return in(s.umin, s.umax);
    case 6:
      return in(uint64_t(s.smin), uint64_t(s.smax));
    case 7: {  // an unsigned range member forced into the tnum
      const uint64_t v = in(s.umin, s.umax);
      return (v & s.var_off.mask) | s.var_off.value;
    }
    case 8: {  // the low half from the 32-bit ranges, the high half from a 64-bit bound
      const uint64_t lo = coin() ? in(s.u32_min, s.u32_max)
                                 : uint32_t(in(uint32_t(s.s32_min), uint32_t(s.s32_max)));
      const uint64_t hi = coin() ? s.umin : coin() ? s.umax : uint64_t(s.smin);
      return (hi & ~uint64_t(0xffffffff)) | lo;
    }
    case 9:
      return s.var_off.value;
    case 10:
      return s.var_off.value | s.var_off.mask;
    default: {
      const uint64_t v = in(uint64_t(s.smin), uint64_t(s.smax));
      return (v & s.var_off.mask) | s.var_off.value;
    }
  }
}

std::optional<uint64_t> DomainGen::member(const Scalar& s) {
  for (int tries = 0; tries < 200; ++tries) {
    const uint64_t v = candidate(s);
    if (s.contains(v)) return v;
  }
  return std::nullopt;
}

}  // namespace bpfbox::verifier::test
