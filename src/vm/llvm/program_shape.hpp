// The control-flow shape of a program as the LLVM tier translates it: which pcs start BPF
// functions (each becomes one LLVM function), which pcs start basic blocks, and which pcs each
// function reaches without entering another function.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "isa/decoder.hpp"

namespace bpfbox::vm::llvm_tier {

struct ProgramShape {
  // Function entries in pc order: pc 0, every bpf-to-bpf call target and every BPF_PSEUDO_FUNC
  // target (what the interpreter accepts as a callee).
  std::vector<uint32_t> functions;
  std::vector<uint8_t> is_function;  // per pc
  // Per pc: a jump or may_goto target, the instruction after a branch or exit, a function entry.
  std::vector<uint8_t> starts_block;
  // Per function (same order as `functions`): the pcs its own code reaches, ascending.
  std::vector<std::vector<uint32_t>> reach;
};

ProgramShape analyze(std::span<const isa::Decoded> prog);

}  // namespace bpfbox::vm::llvm_tier
