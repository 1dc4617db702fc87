#include "sys/attr.hpp"

#include <cerrno>

namespace bpfbox::sys {

namespace {
constexpr unsigned int kPageSize = 4096;
}

Status copy_attr_in(const void* uattr, unsigned int size, Attr& out) {
  if (size > kPageSize) return Status(E2BIG, "attr size is larger than a page");
  if (size && !uattr) return Status(EFAULT, "attr is a null pointer");
  const auto* p = static_cast<const unsigned char*>(uattr);
  for (unsigned int i = kAttrKnownSize; i < size; i++)
    if (p[i])
      return Status(E2BIG, "attr byte " + std::to_string(i) +
                               " is past what bpfbox knows of union bpf_attr and is not zero");
  std::memcpy(out.raw, p, size < kAttrKnownSize ? size : kAttrKnownSize);
  return Status::ok();
}

bool unused_zero(const Attr& attr, size_t end) {
  for (size_t i = end; i < kAttrKnownSize; i++)
    if (attr.raw[i]) return false;
  return true;
}

void write_back(void* uattr, unsigned int size, size_t off, const void* src, size_t len) {
  if (uattr && off + len <= size) std::memcpy(static_cast<unsigned char*>(uattr) + off, src, len);
}

}  // namespace bpfbox::sys
