// bpf(2)'s attr rules: the caller's union bpf_attr copied into a zeroed buffer of the size bpfbox
// knows (a smaller size is zero-extended, bytes past the known size must be zero: E2BIG, a size
// over a page is E2BIG, as bpf_check_uarg_tail_zero), and each command's CHECK_ATTR (bytes after
// the command's last field must be zero: EINVAL).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include <linux/bpf.h>

#include "bpfbox/status.hpp"

namespace bpfbox::sys {

// union bpf_attr as the installed 6.1 header has it, plus the PROG_LOAD fields of later kernels
// bpfbox serves or refuses by name: log_true_size (6.4), prog_token_fd (6.9), fd_array_cnt (6.14).
constexpr size_t kOffLogTrueSize = 140;
constexpr size_t kOffProgTokenFd = 144;
constexpr size_t kOffFdArrayCnt = 148;
// BTF_LOAD's btf_log_true_size (6.4) follows btf_log_level.
constexpr size_t kOffBtfLogTrueSize = 28;
constexpr size_t kAttrKnownSize = 152;
static_assert(sizeof(union bpf_attr) <= kAttrKnownSize);

struct Attr {
  union {
    union bpf_attr a;
    unsigned char raw[kAttrKnownSize];
  };
  Attr() { std::memset(raw, 0, sizeof raw); }
  uint32_t u32_at(size_t off) const {
    uint32_t v;
    std::memcpy(&v, raw + off, 4);
    return v;
  }
};

// Copies the caller's attr (size bytes) in: EFAULT for a null attr with a size, E2BIG as above.
Status copy_attr_in(const void* uattr, unsigned int size, Attr& out);

// CHECK_ATTR(cmd): every byte from `end` (offsetofend of the command's last field) to the end of
// the known attr is zero.
bool unused_zero(const Attr& attr, size_t end);

// Writes `len` bytes of a result field back into the caller's attr, when the caller's attr covers
// it (the kernel writes the fields it returns; a shorter attr cannot hold them).
void write_back(void* uattr, unsigned int size, size_t off, const void* src, size_t len);

}  // namespace bpfbox::sys
