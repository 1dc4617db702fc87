// The verifier's numeric domain for one register: the kernel's struct bpf_reg_state bounds — a
// tnum (var_off) and signed/unsigned ranges in 64 and 32 bits — with the transfer functions of
// every ALU operation and the refinement on both sides of every conditional jump. Each value
// the register may hold at run time is contained in all five at once (the soundness invariant
// the tests check against concrete execution). Used for scalars and for the variable part of
// pointer offsets.
#pragma once

#include <cstdint>
#include <string>

#include "verifier/tnum.hpp"

namespace bpfbox::verifier {

struct Scalar {
  Tnum var_off = Tnum::unknown();
  int64_t smin = INT64_MIN, smax = INT64_MAX;
  uint64_t umin = 0, umax = UINT64_MAX;
  int32_t s32_min = INT32_MIN, s32_max = INT32_MAX;
  uint32_t u32_min = 0, u32_max = UINT32_MAX;

  static Scalar unknown() { return {}; }  // __mark_reg_unknown's bounds
  static Scalar constant(uint64_t v);     // __mark_reg_known
  static Scalar constant32(uint32_t v);   // a 32-bit constant, zero-extended

  bool is_const() const { return var_off.is_const(); }
  uint64_t const_value() const { return var_off.value; }
  bool is_const32() const { return tnum_subreg(var_off).is_const(); }
  // True when v satisfies every bound (the soundness invariant).
  bool contains(uint64_t v) const;
  // True when the bounds contradict each other (an impossible path: the kernel's
  // reg_bounds_sanity_check failing after a refinement).
  bool is_empty() const;
  bool operator==(const Scalar&) const = default;

  // reg_bounds_sync: derives each bound from the others until they agree.
  void sync();
  // After a 32-bit operation: the upper half is zero (zext_32_to_64).
  void zext32();
  // Sign-extension of the low `bits` (8, 16, 32) into 64 bits (movsx, ldsx): coerce_reg_to_size_sx.
  void sext(uint8_t bits);
  // The low `size` bytes, zero-extended (a narrow load or a 32-bit result): coerce_reg_to_size.
  void truncate(uint8_t size);

  // For state pruning (regsafe on scalars): every value this one allows is allowed by `old`.
  bool within(const Scalar& old) const;

  // The bounds part of the verifier log's scalar(...): "smin=...,umax=...,var_off=(0x0; 0xff)",
  // in the kernel 6.x format (defaults omitted, equal bounds merged as "smin=smin32=0"); "" when
  // unknown. A constant gives its value as the log prints a known register ("5", "-1", "0x10000").
  std::string to_string() const;
};

// dst = dst OP src for a BPF_ALU/BPF_ALU64 operation: op is BPF_OP(code) (BPF_ADD ... BPF_ARSH,
// BPF_MOV), alu64 the class, off the instruction's off field (1 for sdiv/smod, 8/16/32 for movsx).
// Division and modulo follow the run-time semantics (by zero: 0 / dst unchanged). For 32-bit
// operations the result is zero-extended. BPF_NEG and BPF_END have their own functions.
void scalar_alu(Scalar& dst, const Scalar& src, uint8_t op, bool alu64, int16_t off = 0);
void scalar_neg(Scalar& dst, bool alu64);
// BPF_END: code's BPF_SRC bit picks to_be/to_le (BPF_ALU) or bswap (BPF_ALU64); imm is 16/32/64.
void scalar_endian(Scalar& dst, uint8_t code, int32_t imm);

// Conditional jumps: op is BPF_OP(code) (BPF_JEQ ... BPF_JSLE, BPF_JSET), is32 for BPF_JMP32.
// 1: always taken, 0: never taken, -1: unknown (the kernel's is_branch_taken on scalars).
int scalar_branch_taken(const Scalar& a, const Scalar& b, uint8_t op, bool is32);
// The operator that keeps a comparison true with its operands swapped: a OP b is b FLIP(OP) a
// (JEQ, JNE and JSET are symmetric).
uint8_t jmp_flip(uint8_t op);

// Narrows a and b to what holds when `a OP b` is `taken` (reg_set_min_max), then syncs both.
// Returns false when that outcome is impossible (a bound became empty).
bool scalar_refine(Scalar& a, Scalar& b, uint8_t op, bool is32, bool taken);

}  // namespace bpfbox::verifier
