// Conditional jumps on scalars: whether a comparison is decided by the bounds
// (is_scalar_branch_taken) and what each outcome teaches about both operands
// (regs_refine_cond_op, then reg_bounds_sync), in 64 and 32 bits, as the kernel's verifier.
#include <linux/bpf.h>

#include <algorithm>
#include <utility>

#include "verifier/scalar.hpp"

namespace bpfbox::verifier {
namespace {

// The outcome "not JSET": no bit of the mask is set (the kernel's BPF_JSET | BPF_X).
constexpr uint8_t kJsetNot = BPF_JSET | BPF_X;

// One side's bounds in the width of the comparison.
struct View {
  Tnum t;
  uint64_t umin, umax;
  int64_t smin, smax;
};

View view(const Scalar& s, bool is32) {
  if (is32) return {tnum_subreg(s.var_off), s.u32_min, s.u32_max, s.s32_min, s.s32_max};
  return {s.var_off, s.umin, s.umax, s.smin, s.smax};
}

bool is_const_in(const Scalar& s, bool is32) {
  return is32 ? s.is_const32() : s.is_const();
}
uint64_t const_in(const Scalar& s, bool is32) {
  return is32 ? static_cast<uint32_t>(s.var_off.value) : s.var_off.value;
}

// The outcome that is the negation of `op`.
uint8_t reverse(uint8_t op) {
  switch (op) {
    case BPF_JEQ:
      return BPF_JNE;
    case BPF_JNE:
      return BPF_JEQ;
    case BPF_JSET:
      return kJsetNot;
    case kJsetNot:
      return BPF_JSET;
    case BPF_JGT:
      return BPF_JLE;
    case BPF_JLE:
      return BPF_JGT;
    case BPF_JGE:
      return BPF_JLT;
    case BPF_JLT:
      return BPF_JGE;
    case BPF_JSGT:
      return BPF_JSLE;
    case BPF_JSLE:
      return BPF_JSGT;
    case BPF_JSGE:
      return BPF_JSLT;
    case BPF_JSLT:
      return BPF_JSGE;
    default:
      return op;
  }
}

// Ranges that cannot meet: the values are never equal.
bool disjoint(const View& a, const View& b) {
  return a.umin > b.umax || a.umax < b.umin || a.smin > b.smax || a.smax < b.smin;
}

bool disjoint32(const Scalar& a, const Scalar& b) {
  return a.u32_min > b.u32_max || a.u32_max < b.u32_min || a.s32_min > b.s32_max ||
         a.s32_max < b.s32_min;
}

// regs_refine_cond_op: narrows a and b to the outcome `a OP b` (op possibly kJsetNot).
void refine(Scalar* a, Scalar* b, uint8_t op, bool is32) {
  switch (op) {
    case BPF_JGE:
    case BPF_JGT:
    case BPF_JSGE:
    case BPF_JSGT:
      op = jmp_flip(op);
      std::swap(a, b);
      break;
    default:
      break;
  }
  switch (op) {
    case BPF_JEQ:
      if (is32) {
        a->u32_min = b->u32_min = std::max(a->u32_min, b->u32_min);
        a->u32_max = b->u32_max = std::min(a->u32_max, b->u32_max);
        a->s32_min = b->s32_min = std::max(a->s32_min, b->s32_min);
        a->s32_max = b->s32_max = std::min(a->s32_max, b->s32_max);
        const Tnum t = tnum_intersect(tnum_subreg(a->var_off), tnum_subreg(b->var_off));
        a->var_off = tnum_with_subreg(a->var_off, t);
        b->var_off = tnum_with_subreg(b->var_off, t);
      } else {
        a->umin = b->umin = std::max(a->umin, b->umin);
        a->umax = b->umax = std::min(a->umax, b->umax);
        a->smin = b->smin = std::max(a->smin, b->smin);
        a->smax = b->smax = std::min(a->smax, b->smax);
        a->var_off = b->var_off = tnum_intersect(a->var_off, b->var_off);
      }
      break;
    case BPF_JNE: {
      // Only a constant at an end of the other's range trims it.
      if (!is_const_in(*b, is32)) std::swap(a, b);
      if (!is_const_in(*b, is32)) break;
      const uint64_t v = const_in(*b, is32);
      if (is32) {
        if (a->u32_min == static_cast<uint32_t>(v)) a->u32_min++;
        if (a->u32_max == static_cast<uint32_t>(v)) a->u32_max--;
        if (a->s32_min == static_cast<int32_t>(v)) a->s32_min++;
        if (a->s32_max == static_cast<int32_t>(v)) a->s32_max--;
      } else {
        if (a->umin == v) a->umin++;
        if (a->umax == v) a->umax--;
        if (a->smin == static_cast<int64_t>(v)) a->smin++;
        if (a->smax == static_cast<int64_t>(v)) a->smax--;
      }
      break;
    }
    case BPF_JSET: {
      // Some bit of the mask is set: definite only for a single-bit mask.
      if (!is_const_in(*b, is32)) std::swap(a, b);
      if (!is_const_in(*b, is32)) break;
      const uint64_t v = const_in(*b, is32);
      if (v == 0 || (v & (v - 1)) != 0) break;
      if (is32)
        a->var_off =
            tnum_with_subreg(a->var_off, tnum_or(tnum_subreg(a->var_off), Tnum::constant(v)));
      else
        a->var_off = tnum_or(a->var_off, Tnum::constant(v));
      break;
    }
    case kJsetNot: {
      // No bit of the mask is set. The ranges are forgotten before the tnum narrows, as the
      // kernel does, so a dead branch cannot leave bounds contradicting the tnum.
      if (!is_const_in(*b, is32)) std::swap(a, b);
      if (!is_const_in(*b, is32)) break;
      const uint64_t v = const_in(*b, is32);
      const Tnum t = a->var_off;
      *a = Scalar::unknown();
      if (is32)
        a->var_off = tnum_with_subreg(t, tnum_and(tnum_subreg(t), Tnum::constant(~v)));
      else
        a->var_off = tnum_and(t, Tnum::constant(~v));
      break;
    }
    case BPF_JLE:
      if (is32) {
        a->u32_max = std::min(a->u32_max, b->u32_max);
        b->u32_min = std::max(a->u32_min, b->u32_min);
      } else {
        a->umax = std::min(a->umax, b->umax);
        b->umin = std::max(a->umin, b->umin);
      }
      break;
    case BPF_JLT:
      if (is32) {
        a->u32_max = std::min<uint32_t>(a->u32_max, b->u32_max - 1);
        b->u32_min = std::max<uint32_t>(a->u32_min + 1, b->u32_min);
      } else {
        a->umax = std::min(a->umax, b->umax - 1);
        b->umin = std::max(a->umin + 1, b->umin);
      }
      break;
    case BPF_JSLE:
      if (is32) {
        a->s32_max = std::min(a->s32_max, b->s32_max);
        b->s32_min = std::max(a->s32_min, b->s32_min);
      } else {
        a->smax = std::min(a->smax, b->smax);
        b->smin = std::max(a->smin, b->smin);
      }
      break;
    case BPF_JSLT:
      if (is32) {
        a->s32_max = std::min<int32_t>(a->s32_max, b->s32_max - 1);
        b->s32_min = std::max<int32_t>(a->s32_min + 1, b->s32_min);
      } else {
        a->smax = std::min(a->smax, b->smax - 1);
        b->smin = std::max(a->smin + 1, b->smin);
      }
      break;
    default:
      break;
  }
}

}  // namespace

uint8_t jmp_flip(uint8_t op) {
  switch (op) {
    case BPF_JGT:
      return BPF_JLT;
    case BPF_JLT:
      return BPF_JGT;
    case BPF_JGE:
      return BPF_JLE;
    case BPF_JLE:
      return BPF_JGE;
    case BPF_JSGT:
      return BPF_JSLT;
    case BPF_JSLT:
      return BPF_JSGT;
    case BPF_JSGE:
      return BPF_JSLE;
    case BPF_JSLE:
      return BPF_JSGE;
    default:
      return op;
  }
}

int scalar_branch_taken(const Scalar& a, const Scalar& b, uint8_t op, bool is32) {
  const View x = view(a, is32), y = view(b, is32);
  switch (op) {
    case BPF_JEQ:
    case BPF_JNE: {
      const int equal_result = op == BPF_JEQ ? 1 : 0;
      if (x.t.is_const() && y.t.is_const())
        return x.t.value == y.t.value ? equal_result : 1 - equal_result;
      if (disjoint(x, y) || (!is32 && disjoint32(a, b))) return 1 - equal_result;
      // A bit known in both and different in each (6.18 checks the tnums' overlap too).
      if ((x.t.value ^ y.t.value) & ~x.t.mask & ~y.t.mask) return 1 - equal_result;
      break;
    }
    case BPF_JSET: {
      const View* m = &x;
      const View* k = &y;
      if (!is_const_in(b, is32)) {
        std::swap(m, k);
        if (!is_const_in(a, is32)) return -1;
      }
      if (m->t.value & k->t.value) return 1;                       // a known 1 under the mask
      if (((m->t.value | m->t.mask) & k->t.value) == 0) return 0;  // no possible 1 under it
      break;
    }
    case BPF_JGT:
      if (x.umin > y.umax) return 1;
      if (x.umax <= y.umin) return 0;
      break;
    case BPF_JSGT:
      if (x.smin > y.smax) return 1;
      if (x.smax <= y.smin) return 0;
      break;
    case BPF_JLT:
      if (x.umax < y.umin) return 1;
      if (x.umin >= y.umax) return 0;
      break;
    case BPF_JSLT:
      if (x.smax < y.smin) return 1;
      if (x.smin >= y.smax) return 0;
      break;
    case BPF_JGE:
      if (x.umin >= y.umax) return 1;
      if (x.umax < y.umin) return 0;
      break;
    case BPF_JSGE:
      if (x.smin >= y.smax) return 1;
      if (x.smax < y.smin) return 0;
      break;
    case BPF_JLE:
      if (x.umax <= y.umin) return 1;
      if (x.umin > y.umax) return 0;
      break;
    case BPF_JSLE:
      if (x.smax <= y.smin) return 1;
      if (x.smin > y.smax) return 0;
      break;
    default:
      break;
  }
  return -1;
}

bool scalar_refine(Scalar& a, Scalar& b, uint8_t op, bool is32, bool taken) {
  const int decided = scalar_branch_taken(a, b, op, is32);
  if (decided >= 0) return decided == (taken ? 1 : 0);  // decided: nothing to learn, or dead
  refine(&a, &b, taken ? op : reverse(op), is32);
  a.sync();
  b.sync();
  return !a.is_empty() && !b.is_empty();
}

}  // namespace bpfbox::verifier
