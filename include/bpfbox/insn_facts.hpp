// What the verifier proved about one instruction of the xlated program, on every path it
// explored: the memory region a load, store or atomic touches. Engines that optimize (the LLVM
// tier) use it; the others ignore it. Sound under state pruning: a pruned path was equivalent to
// an explored one with identical pointer types in its live registers (the kernel's regsafe), so
// the join over explored paths holds at run time, as the kernel's own insn_aux_data.ptr_type.
#pragma once

#include <cstdint>

namespace bpfbox::vm {

// Disjoint memory: an access in one region never touches another's bytes. Unknown: no fact
// (helper memory, sockets, paths that disagreed, instructions the rewrite added).
enum class AccessRegion : uint8_t { Unknown, Stack, Ctx, Packet, MapValue };

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
};

}  // namespace bpfbox::vm
