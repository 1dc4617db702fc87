// What the verifier proved about one instruction of the xlated program, on every path it
// explored: the memory region a load, store or atomic touches, and (verifier::Options::range_facts)
// the ranges of some scalar operands. Engines that optimize (the LLVM tier) use it; the others
// ignore it. Sound under state pruning: a pruned path was equivalent to an explored one with
// identical pointer types in its live registers (the kernel's regsafe), so the join over explored
// paths holds at run time, as the kernel's own insn_aux_data.ptr_type; a range is recorded only
// for registers made precise there, so pruned paths had their values inside the explored ones'.
#pragma once

#include <cstdint>

namespace bpfbox::vm {

// Disjoint memory: an access in one region never touches another's bytes. Unknown: no fact
// (helper memory, sockets, paths that disagreed, instructions the rewrite added).
enum class AccessRegion : uint8_t { Unknown, Stack, Ctx, Packet, MapValue };

// A scalar operand's values as the instruction reads it: 64-bit operations the whole register,
// ALU32/JMP32 the low 32 bits (umin/umax zero-extended, smin/smax sign-extended).
struct ScalarRange {
  uint64_t umin = 0, umax = UINT64_MAX;
  int64_t smin = INT64_MIN, smax = INT64_MAX;
};

struct InsnFacts {
  AccessRegion region = AccessRegion::Unknown;
  // Stack: on every path the base register was the r10 of the frame `stack_frame_up` frames
  // above the instruction's own (0: its own) plus `stack_off` (the instruction's off not
  // included); stack_const is false when the paths disagreed or the offset was variable.
  bool stack_const = false;
  uint8_t stack_frame_up = 0;
  int32_t stack_off = 0;
  // MapValue: the map (a maps::Map*) whose values the access touches on every path; null when
  // the paths disagreed or the value came from an inner map (then: some map's value).
  const void* map = nullptr;
  // Range facts (verifier::Options::range_facts), the operands before the instruction, joined
  // over every explored path: the source of div/mod/shifts by register, also the destination of
  // sdiv/smod, and both operands of conditional jumps (src only for BPF_X). has_*: a fact exists
  // (the instruction is unchanged by the rewrite and the operand was a scalar on every path).
  bool has_src = false, has_dst = false;
  ScalarRange src, dst;
};

}  // namespace bpfbox::vm
