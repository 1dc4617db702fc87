// The caller's memory as the kernel treats user memory: copy_from_user / copy_to_user /
// strncpy_from_user, where a pointer to memory the process cannot read (or write) is EFAULT,
// never a crash. Every pointer bpf_attr holds (key, value, insns, log_buf, data_in, info...) is
// reached only through these.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "bpfbox/status.hpp"

namespace bpfbox::sys {

// EFAULT when [src, src+n) is not all readable (a null pointer with n > 0 included). Memory on the
// calling thread's stack is copied without a syscall; elsewhere process_vm_readv checks it.
Status copy_from_user(void* dst, uint64_t src, size_t n);
// EFAULT when [dst, dst+n) is not all writable.
Status copy_to_user(uint64_t dst, const void* src, size_t n);
// Whether [p, p+n) lies between the caller's stack pointer and the top of the calling thread's
// stack: memory that is mapped for sure, so it can be copied without a check (the attr a caller
// builds on its stack, as libbpf does, costs no process_vm_readv).
bool on_own_stack(uint64_t p, size_t n);
// The lowest address of the bpf() caller's live stack frames, set by bpfbox_bpf() for the call
// (0 outside it): copy_to_user writes there without a check, as the kernel writes to the caller's
// stack, never over bpfbox's own frames below it.
void set_caller_stack(uint64_t lowest);
// n bytes of the caller's into a vector.
Result<std::vector<uint8_t>> bytes_from_user(uint64_t src, size_t n);
// A NUL-terminated string, read up to its NUL or `max` characters (strncpy_from_user: a result of
// max characters means no NUL came; the caller decides), EFAULT for a bad pointer.
Result<std::string> string_from_user(uint64_t src, size_t max);

}  // namespace bpfbox::sys
