// The primitives the kernel keeps a register's bounds consistent with (kernel/bpf/verifier.c:
// __update_reg_bounds, __reg_deduce_bounds, __reg_bound_offset, __mark_reg*_unbounded), shared by
// the files that implement Scalar. Internal to the numeric domain.
#pragma once

#include "verifier/scalar.hpp"

namespace bpfbox::verifier::bounds {

// Tighten the ranges from the known bits of var_off.
void update_from_tnum(Scalar& s);
void update32_from_tnum(Scalar& s);
void update64_from_tnum(Scalar& s);
// Exchange knowledge between the signed and unsigned, 32- and 64-bit ranges.
void deduce(Scalar& s);
// Tighten var_off from the unsigned ranges.
void tnum_from_ranges(Scalar& s);

void mark64_unbounded(Scalar& s);
void mark32_unbounded(Scalar& s);
// __mark_reg32_known: the low 32 bits are v.
void mark32_known(Scalar& s, uint32_t v);
// __reg_assign_32_into_64: the 64-bit ranges from the 32-bit ones, upper half zero.
void assign_32_into_64(Scalar& s);
// The low `bits` (8, 16) of the low 32 bits sign-extended to 32 bits (coerce_subreg_to_size_sx);
// the upper half is left for the caller's zero-extension.
void sext_subreg(Scalar& s, uint8_t bits);

}  // namespace bpfbox::verifier::bounds
