// eBPF → x86-64: one pass over the decoded program emits the whole image (prologue, body, cold
// stubs, the checked-mode thunk). Passes repeat with the previous layout until jump sizes settle.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "bpfbox/vm.hpp"
#include "isa/decoder.hpp"
#include "vm/jit/x86_64/analysis.hpp"

namespace bpfbox::vm::jit::x86_64 {

// Choices a test may force; the defaults are what the machine supports.
struct Tuning {
  bool bmi2 = true;         // shlx/shrx/sarx for register shifts (no rcx shuffling)
  bool short_jumps = true;  // relax jumps to rel8 where the layout allows
  int max_passes = 4;       // layout passes before settling for what the last one produced
  // Loop heads (targets of backward jumps) start at a multiple of this many bytes, padded with
  // NOPs, so a small loop sits in as few fetch blocks as it can (0 or 1: no padding).
  uint32_t loop_align = 16;
  uint64_t blind_seed = 0;  // constant blinding: 0 draws a fresh key per compile
  // Helpers and runtime routines within ±kDirectReach of ImageTables::near are called with a
  // direct `call rel32` (the code is placed near them); others through `movabs r11; call r11`.
  bool direct_calls = true;
  // Pairs of adjacent field copies become one wide load and store (fuse_copy_pair).
  bool fuse_copies = true;
};

// A routine at most this far from ImageTables::near is reached by a rel32 from code placed within
// CodeMemory's window around it (1 GiB + 512 MiB < 2 GiB).
constexpr uint64_t kDirectReach = 1ull << 30;

// What generated code refers to outside itself, owned by the executable.
struct ImageTables {
  const Executable* self = nullptr;   // the program being compiled (tail calls name it)
  const uint8_t* slots = nullptr;     // per pc: slots of the instruction (budget fault pcs)
  const HelperFn* helpers = nullptr;  // by helper id, for callx
  size_t n_helpers = 0;
  uint64_t near = 0;  // where the code will be placed near (0: anywhere, no direct calls)
};

// A `call rel32` to an absolute address: the displacement is known once the code is placed.
struct AbsCall {
  size_t at;  // the rel32 field
  uint64_t target;
};

struct Image {
  std::vector<uint8_t> code;
  // Offsets of imm64 fields holding a code offset: the code's address must be added once placed.
  std::vector<size_t> relocs;
  std::vector<AbsCall> abs_calls;
  // Per pc, where its code starts (the body's end at index n): the line mapping of `dump jited`
  // and of bpf_prog_info's jited_line_info. The second slot of an lddw maps to the next insn.
  std::vector<uint32_t> insn_offsets;
  int passes = 0;
};

Status translate(std::span<const isa::Decoded> prog, const ProgramFacts& facts,
                 const HelperTable& helpers, const ExecOptions& opts, const Tuning& tuning,
                 const ImageTables& tables, Image& out);

}  // namespace bpfbox::vm::jit::x86_64
