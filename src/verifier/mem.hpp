// Memory accesses (check_mem.cpp): loads, stores and atomics through every pointer type the
// verifier tracks, with the kernel's bounds, initialisation, privilege and alignment rules and
// messages; the stack tracked per byte; and the checks helper calls make on memory arguments.
#pragma once

#include <cstdint>

#include <linux/bpf.h>

#include "bpfbox/prog_type.hpp"
#include "bpfbox/status.hpp"
#include "verifier/env.hpp"

namespace bpfbox::verifier {

// check_mem_access(): `size` bytes at regs[regno] + off (the instruction's off; the pointer's own
// fixed and variable offsets are added here). value_regno is the register loaded into
// (AccessType::Read) or stored from (Write), or -1 (atomics' plain read/write, BPF_ST). For a
// read into a register, that register receives the loaded value's state. insn is the
// instruction being checked (BPF_ST stores its imm; ctx facts are recorded in env.aux[insn_idx]).
Status check_mem_access(Env& env, uint32_t insn_idx, int regno, int32_t off, uint32_t size,
                        AccessType type, int value_regno, bool strict_alignment_once, bool is_ldsx);

// BPF_LDX / BPF_LDX|BPF_MEMSX, BPF_STX|BPF_MEM and BPF_ST|BPF_MEM (check_load_mem,
// check_store_reg, the BPF_ST branch of do_check_insn), including "same insn cannot be used with
// different pointers".
Status check_load(Env& env, const struct bpf_insn& insn);
Status check_store(Env& env, const struct bpf_insn& insn);
// BPF_STX|BPF_ATOMIC (add/and/or/xor with or without fetch, xchg, cmpxchg, load-acquire,
// store-release).
Status check_atomic(Env& env, const struct bpf_insn& insn);
// BPF_LD|BPF_ABS / BPF_LD|BPF_IND: ctx in r6, r1-r5 clobbered, r0 unknown.
Status check_ld_abs(Env& env, const struct bpf_insn& insn);

// For the calls pass: may a helper read (or write) `access_size` bytes at the pointer in
// regs[regno] (the kernel's check_helper_mem_access)? Stack, map key/value, packet and PTR_TO_MEM
// pointers are checked against their bounds; anything else is "R%d type=%s expected=fp".
//   zero_size_allowed: access_size 0 is fine (ARG_CONST_SIZE_OR_ZERO), even with a NULL pointer.
//   raw_mode (MEM_UNINIT): the helper fills the memory, so stack bytes need not be initialised;
//     they are marked written (STACK_MISC) right away, as the kernel does after the call.
// Without raw_mode, type == Write means the helper may write the memory (spilled registers in the
// range are scrubbed to unknown), Read only reads it (stack bytes must be initialised).
Status check_helper_mem_access(Env& env, int regno, uint32_t access_size, AccessType type,
                               bool zero_size_allowed, bool raw_mode);

// For ARG_CONST_SIZE(_OR_ZERO): the size in regs[size_regno] (a bounded scalar, "R%d min value
// is negative...", "R%d unbounded memory access...", "R%d invalid zero-sized read:
// u64=[%lld,%lld]") and the memory at regs[size_regno - 1] accessible for its maximum
// (check_mem_size_reg).
Status check_mem_size_reg(Env& env, int size_regno, AccessType type, bool zero_size_allowed,
                          bool raw_mode);

// BPF_MAX_VAR_OFF / BPF_MAX_VAR_SIZ: bounds beyond which a variable offset or size is unbounded.
constexpr int64_t kMaxVarOff = int64_t(1) << 29;
constexpr uint64_t kMaxVarSize = uint64_t(1) << 29;

}  // namespace bpfbox::verifier
