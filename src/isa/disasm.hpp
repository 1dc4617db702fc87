// Disassembly in the kernel verifier log's syntax (kernel/bpf/disasm.c): "r0 = 1",
// "if r1 == 0x0 goto pc+1", "*(u32 *)(r10 -4) = r0", "lock *(u64 *)(r0 +0) += r1",
// "call bpf_map_lookup_elem#1". Immediates print as the kernel prints them: decimal for ALU and
// store immediates, hex (as u32) for jump compares, hex for 64-bit loads.
//
// Forms the kernel has no text for (it prints the raw number or nothing), chosen to be readable
// and unambiguous so assemble() reads every one of them back bit for bit:
//   lddw, plain                    r1 = 0x1122334455667788          (the kernel's form; the
//                                  assembler also takes LLVM's "r1 = 0x... ll")
//   lddw, BPF_PSEUDO_MAP_FD        r1 = map[fd:5]                   (bpftool: map[id:N])
//   lddw, BPF_PSEUDO_MAP_VALUE     r1 = map[fd:5][0]+16             (bpftool's form, with fd)
//   lddw, BPF_PSEUDO_MAP_IDX       r1 = map[idx:3]
//   lddw, BPF_PSEUDO_MAP_IDX_VALUE r1 = map[idx:3]+16               (bpftool's form)
//   lddw, BPF_PSEUDO_BTF_ID        r1 = btf_id[123]  /  r1 = btf_id[123] btf_fd:4
//   lddw, BPF_PSEUDO_FUNC          r1 = subprog[+5]                 (bpftool's form, pc-relative)
//   a nonzero unused upper half of MAP_FD, MAP_IDX or FUNC is kept as a suffix " hi:N".
//   kfunc call (src 2)             call kernel-function#ID  /  call kernel-function#ID off:N
//                                  (the kernel's text; off is the module BTF's fd_array index)
//   callx (the kernel has none)    callx r2                         (LLVM's form)
//   load-acquire / store-release   r0 = load_acquire((u8 *)(r1 +0)), store_release((u32 *)...)
//                                  with an r register whatever the size, as disasm.c prints.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "isa/decoder.hpp"

namespace bpfbox::isa {

struct DisasmOptions {
  // Name of helper `id` for "call NAME#id"; the default knows the kernel's helper names.
  std::function<std::string(int32_t id)> helper_name;
  // Append LLVM's " ll" to plain 64-bit loads ("r1 = 0x1 ll"); the kernel log has no suffix.
  bool lddw_ll_suffix = false;
};

// The kernel's name for a helper id ("bpf_map_lookup_elem"), or "unknown" past the known ones.
const char* kernel_helper_name(int32_t id);
// The id of a kernel helper by name ("bpf_map_lookup_elem" -> 1).
std::optional<int32_t> kernel_helper_id(std::string_view name);
// How many helper ids have a name (ids 0 .. count-1; 0 is "bpf_unspec").
int32_t kernel_helper_count();

// One instruction (pc is needed for nothing but kept for callers printing targets).
std::string disassemble(const Decoded& d, const DisasmOptions& opts = {});

// A whole program, one line per instruction as the verifier log prints it: "0: (b7) r0 = 1".
// An instruction that does not decode prints as "(xx) invalid".
std::string disassemble_program(std::span<const Insn> prog, const DisasmOptions& opts = {});

}  // namespace bpfbox::isa
