// What the verifier knows about values and helpers: the kernel's bpf_reg_type, bpf_arg_type and
// bpf_return_type (include/linux/bpf.h, kernel-internal, so not in the UAPI header), with the
// kernel's names so that a reader of verifier.c finds their way, and the helper prototype
// (struct bpf_func_proto) that sits next to each helper's implementation in src/helpers/.
//
// As in the kernel, a type is a base type in the low byte plus flag bits: ARG_PTR_TO_MAP_VALUE |
// PTR_MAYBE_NULL is "a map value or NULL". Embedders describe their own helpers with these.
#pragma once

#include <cstdint>

#include "bpfbox/vm.hpp"

namespace bpfbox {

// Flags shared by register, argument and return types (the kernel's enum bpf_type_flag).
enum : uint32_t {
  PTR_MAYBE_NULL = 1u << 8,  // may be NULL: must be checked before use
  MEM_RDONLY = 1u << 9,      // memory that may only be read
  MEM_RINGBUF = 1u << 10,    // a ring buffer reservation (bpf_ringbuf_reserve)
  MEM_USER = 1u << 11,       // user memory (never given to programs here)
  MEM_PERCPU = 1u << 12,     // per-CPU memory
  OBJ_RELEASE = 1u << 13,    // the helper releases this reference (ringbuf submit/discard)
  PTR_UNTRUSTED = 1u << 14,  // kernel pointer that may not be dereferenced directly
  MEM_UNINIT = 1u << 15,     // the helper writes the memory; it need not be initialised
  DYNPTR_TYPE_LOCAL = 1u << 16,
  DYNPTR_TYPE_RINGBUF = 1u << 17,
  MEM_FIXED_SIZE = 1u << 18,  // the size is the prototype's arg_size, not the next argument
  MEM_ALLOC = 1u << 19,       // memory the program allocated (ringbuf reservations)
  PTR_TRUSTED = 1u << 20,
  MEM_RCU = 1u << 21,
  NON_OWN_REF = 1u << 22,
  DYNPTR_TYPE_SKB = 1u << 23,
  DYNPTR_TYPE_XDP = 1u << 24,
  MEM_ALIGNED = 1u << 25,
  MEM_WRITE = 1u << 26,  // the helper writes the memory (6.13+)
  kTypeFlagMask = ~0xffu,
};
constexpr uint32_t base_type(uint32_t t) {
  return t & 0xff;
}
constexpr uint32_t type_flags(uint32_t t) {
  return t & kTypeFlagMask;
}

// What a register holds (enum bpf_reg_type). Names in the log: reg_type_str() in the verifier.
enum RegType : uint32_t {
  NOT_INIT = 0,
  SCALAR_VALUE,
  PTR_TO_CTX,
  CONST_PTR_TO_MAP,
  PTR_TO_MAP_VALUE,
  PTR_TO_MAP_KEY,
  PTR_TO_STACK,
  PTR_TO_PACKET_META,
  PTR_TO_PACKET,
  PTR_TO_PACKET_END,
  PTR_TO_FLOW_KEYS,
  PTR_TO_SOCKET,
  PTR_TO_SOCK_COMMON,
  PTR_TO_TCP_SOCK,
  PTR_TO_TP_BUFFER,
  PTR_TO_XDP_SOCK,
  PTR_TO_BTF_ID,
  PTR_TO_MEM,  // memory of a known size (mem_size): ringbuf reservations, helper results
  PTR_TO_ARENA,
  PTR_TO_BUF,
  PTR_TO_FUNC,  // a BPF_PSEUDO_FUNC value: a callback
  CONST_PTR_TO_DYNPTR,
  kRegTypeCount,
  PTR_TO_MAP_VALUE_OR_NULL = PTR_TO_MAP_VALUE | PTR_MAYBE_NULL,
  PTR_TO_SOCKET_OR_NULL = PTR_TO_SOCKET | PTR_MAYBE_NULL,
};

// What a helper argument must be (enum bpf_arg_type).
enum ArgType : uint32_t {
  ARG_DONTCARE = 0,      // unused argument
  ARG_CONST_MAP_PTR,     // a map pointer from lddw
  ARG_PTR_TO_MAP_KEY,    // pointer to key_size initialised bytes (stack, map value, packet)
  ARG_PTR_TO_MAP_VALUE,  // pointer to value_size initialised bytes
  ARG_PTR_TO_MEM,        // pointer to memory of the size in the next argument
  ARG_PTR_TO_ARENA,
  ARG_CONST_SIZE,          // a bounded size for the previous argument, > 0
  ARG_CONST_SIZE_OR_ZERO,  // a bounded size for the previous argument, >= 0
  ARG_PTR_TO_CTX,          // the program's context (unmodified pointer)
  ARG_ANYTHING,            // any initialised value
  ARG_PTR_TO_SPIN_LOCK,    // pointer to the struct bpf_spin_lock of a map value
  ARG_PTR_TO_SOCK_COMMON,
  ARG_PTR_TO_SOCKET,
  ARG_PTR_TO_BTF_ID,
  ARG_PTR_TO_RINGBUF_MEM,        // a ringbuf reservation (with OBJ_RELEASE: submit/discard)
  ARG_CONST_ALLOC_SIZE_OR_ZERO,  // a constant size: the size of the memory the helper returns
  ARG_PTR_TO_BTF_ID_SOCK_COMMON,
  ARG_PTR_TO_PERCPU_BTF_ID,
  ARG_PTR_TO_FUNC,       // a callback (BPF_PSEUDO_FUNC), verified as a subprogram
  ARG_PTR_TO_STACK,      // pointer to the stack
  ARG_PTR_TO_CONST_STR,  // a NUL-terminated string in read-only (frozen) map memory
  ARG_PTR_TO_TIMER,
  ARG_KPTR_XCHG_DEST,
  ARG_PTR_TO_DYNPTR,
  kArgTypeCount,
  ARG_PTR_TO_MAP_VALUE_OR_NULL = ARG_PTR_TO_MAP_VALUE | PTR_MAYBE_NULL,
  ARG_PTR_TO_MEM_OR_NULL = ARG_PTR_TO_MEM | PTR_MAYBE_NULL,
  ARG_PTR_TO_CTX_OR_NULL = ARG_PTR_TO_CTX | PTR_MAYBE_NULL,
  ARG_PTR_TO_SOCKET_OR_NULL = ARG_PTR_TO_SOCKET | PTR_MAYBE_NULL,
  ARG_PTR_TO_STACK_OR_NULL = ARG_PTR_TO_STACK | PTR_MAYBE_NULL,
  ARG_PTR_TO_FUNC_OR_NULL = ARG_PTR_TO_FUNC | PTR_MAYBE_NULL,
  // A buffer the helper fills (bpf_skb_load_bytes' destination).
  ARG_PTR_TO_UNINIT_MEM = ARG_PTR_TO_MEM | MEM_UNINIT | MEM_WRITE,
  ARG_PTR_TO_FIXED_SIZE_MEM = ARG_PTR_TO_MEM | MEM_FIXED_SIZE,
};

// What a helper returns in r0 (enum bpf_return_type).
enum RetType : uint32_t {
  RET_INTEGER = 0,       // a scalar
  RET_VOID,              // nothing: r0 is unreadable afterwards
  RET_PTR_TO_MAP_VALUE,  // a value of the map in the ARG_CONST_MAP_PTR argument
  RET_PTR_TO_SOCKET,
  RET_PTR_TO_TCP_SOCK,
  RET_PTR_TO_SOCK_COMMON,
  RET_PTR_TO_MEM,  // memory of the size in the ARG_CONST_ALLOC_SIZE_OR_ZERO argument
  RET_PTR_TO_MEM_OR_BTF_ID,
  RET_PTR_TO_BTF_ID,
  kRetTypeCount,
  RET_PTR_TO_MAP_VALUE_OR_NULL = RET_PTR_TO_MAP_VALUE | PTR_MAYBE_NULL,
  RET_PTR_TO_RINGBUF_MEM_OR_NULL = RET_PTR_TO_MEM | PTR_MAYBE_NULL | MEM_RINGBUF | MEM_ALLOC,
};

// A helper as the verifier and the engines see it (struct bpf_func_proto plus the implementation).
struct HelperProto {
  uint32_t func_id = 0;           // BPF_FUNC_*
  const char* name = "";          // "bpf_map_lookup_elem"
  vm::HelperFn fn = nullptr;      // what `call func_id` runs
  bool gpl_only = false;          // refused for programs whose license is not GPL-compatible
  bool pkt_access = false;        // its memory arguments may be direct packet pointers
  bool changes_pkt_data = false;  // invalidates every packet pointer (xdp_adjust_head, ...)
  bool might_sleep = false;
  uint32_t ret_type = RET_INTEGER;
  uint32_t arg_type[5] = {};
  // For MEM_FIXED_SIZE arguments: the size of the memory.
  uint32_t arg_size[5] = {};
  // The map types its ARG_CONST_MAP_PTR accepts, one bit per BPF_MAP_TYPE_* (the helper half of
  // the kernel's check_map_func_compatibility); 0 means the map's own rules decide.
  uint64_t map_types = 0;
  // What a compiler may emit in place of the call (vm::HelperInline).
  vm::HelperInline inline_as = vm::HelperInline::None;
};

constexpr uint64_t map_type_bit(uint32_t map_type) {
  return uint64_t(1) << map_type;
}

}  // namespace bpfbox
