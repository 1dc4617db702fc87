#include "sys/attr.hpp"

#include <cerrno>

#include "sys/user_mem.hpp"

namespace bpfbox::sys {

namespace {
constexpr unsigned int kPageSize = 4096;
}

Status copy_attr_in(const void* uattr, unsigned int size, Attr& out) {
  if (size > kPageSize) return Status(E2BIG, "attr size is larger than a page");
  if (size && !uattr) return Status(EFAULT, "attr is a null pointer");
  // Through user_mem, as bpf_check_uarg_tail_zero and copy_from_user: a bad attr is EFAULT. An
  // attr on the caller's stack (the usual place) is readable for sure: copied without a syscall.
  unsigned char buf[kPageSize];
  const uint64_t at = reinterpret_cast<uintptr_t>(uattr);
  if (on_own_stack(at, size)) {
    std::memcpy(buf, uattr, size);
  } else if (Status st = copy_from_user(buf, at, size); !st) {
    return Status(EFAULT, "attr: " + st.message());
  }
  for (unsigned int i = kAttrKnownSize; i < size; i++)
    if (buf[i])
      return Status(E2BIG, "attr byte " + std::to_string(i) +
                               " is past what bpfbox knows of union bpf_attr and is not zero");
  std::memcpy(out.raw, buf, size < kAttrKnownSize ? size : kAttrKnownSize);
  return Status::ok();
}

bool unused_zero(const Attr& attr, size_t end) {
  for (size_t i = end; i < kAttrKnownSize; i++)
    if (attr.raw[i]) return false;
  return true;
}

void write_back(void* uattr, unsigned int size, size_t off, const void* src, size_t len) {
  // The attr was readable at copy-in; a caller that unmapped it since gets nothing, not a crash.
  if (!uattr || off + len > size) return;
  const uint64_t at = reinterpret_cast<uintptr_t>(uattr) + off;
  if (on_own_stack(at, len))
    std::memcpy(reinterpret_cast<void*>(static_cast<uintptr_t>(at)), src, len);
  else
    (void)copy_to_user(at, src, len);
}

}  // namespace bpfbox::sys
