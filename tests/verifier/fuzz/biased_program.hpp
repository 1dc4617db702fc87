// Random programs biased towards what the verifier must get right and where verifiers break:
// packet accesses behind data_end comparisons of every form (sometimes wrong), map values (ARRAY
// and HASH, with and without null checks) at constant and variable offsets, stack spills and fills
// of pointers and scalars at fixed and variable offsets, 32-bit ALU and jmp32 refinements, scalars
// whose ranges differ between the two sides of a branch (pruning and precision), bounded loops,
// bpf-to-bpf calls with stack, map value and packet pointers passed down, atomics on map values
// and the stack, ringbuf reserve/submit/discard, helpers with memory + size arguments, context
// accesses and LD_ABS/LD_IND. XDP, SCHED_CLS and SOCKET_FILTER programs. Written as assembly text,
// so a failure prints as a readable program.
//
// The programs never move the packet's bounds (no adjust_head/tail/meta) and never insert into or
// delete from the hash map, so a checked run can give exactly the packet and the map values as
// its regions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace bpfbox::fuzz {

// The maps every program may name: map[fd:i] is kMaps[i].
struct FuzzMap {
  uint32_t type, key_size, value_size, max_entries;
};
inline constexpr int kArrayMap = 0, kHashMap = 1, kRingbufMap = 2;
extern const FuzzMap kMaps[3];

struct FuzzProgram {
  uint32_t prog_type = 0;  // BPF_PROG_TYPE_XDP, _SCHED_CLS or _SOCKET_FILTER
  std::string text;
  // No division, modulo, byte swap or shift by a register: bpfbox tracks their results' bounds
  // where the kernel makes them unknown (docs/verifier-differences.md), so only these programs must
  // get the kernel's verdict exactly.
  bool kernel_exact = true;
};

// The same seed gives the same program.
FuzzProgram biased_program(uint64_t seed);

}  // namespace bpfbox::fuzz
