// Disassembly in the kernel verifier log's syntax: "r0 = 1", "if r1 == 0x0 goto pc+1",
// "*(u32 *)(r10 -4) = r0", "lock *(u64 *)(r0 +0) += r1", "call bpf_map_lookup_elem#1".
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include "isa/decoder.hpp"

namespace bpfbox::isa {

struct DisasmOptions {
  // Name of helper `id` for "call NAME#id"; the default knows the kernel's helper names.
  std::function<std::string(int32_t id)> helper_name;
};

// The kernel's name for a helper id ("bpf_map_lookup_elem"), or "unknown" past the known ones.
const char* kernel_helper_name(int32_t id);

// One instruction (pc is needed for nothing but kept for callers printing targets).
std::string disassemble(const Decoded& d, const DisasmOptions& opts = {});

// A whole program, one line per instruction as the verifier log prints it: "0: (b7) r0 = 1".
// An instruction that does not decode prints as "(xx) invalid".
std::string disassemble_program(std::span<const Insn> prog, const DisasmOptions& opts = {});

}  // namespace bpfbox::isa
