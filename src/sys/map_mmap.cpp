// mmap() of a map fd (the kernel's bpf_map_mmap): for BPF_F_MMAPABLE arrays (libbpf's .data, .bss
// and .rodata), ring buffers and the like, the map's own storage at the region its family names,
// so user space and programs see the same bytes. The kernel's rules: MAP_SHARED only, within the
// region, no writable mapping of a frozen or BPF_F_RDONLY_PROG map. The shim (src/shim) sends the
// mmap() calls on bpfbox map fds here.
#include <sys/mman.h>

#include <cerrno>

#include "bpfbox/bpf.h"
#include "sys/objects.hpp"

namespace bpfbox::sys {
namespace {

std::shared_ptr<maps::Map> map_behind(int fd) {
  if (fd < 0) return nullptr;
  auto obj = Objects::get().by_fd(fd, Kind::Map);
  return obj ? (*obj)->map : nullptr;
}

void* fail(int err) {
  errno = err;
  return MAP_FAILED;
}

}  // namespace
}  // namespace bpfbox::sys

extern "C" int bpfbox_is_map_fd(int fd) {
  return bpfbox::sys::map_behind(fd) != nullptr;
}

extern "C" void* bpfbox_map_mmap(void* addr, size_t len, int prot, int flags, int fd, off_t off) {
  using namespace bpfbox::sys;
  std::shared_ptr<bpfbox::maps::Map> m = map_behind(fd);
  if (!m) return fail(EBADF);
  auto region = m->mmap_region();
  if (!region) return fail(region.status().err());
  if (!(flags & MAP_SHARED)) return fail(EINVAL);
  if (off < 0 || uint64_t(off) + len > region->size) return fail(EINVAL);
  // A writable mapping keeps the map from being frozen, as the kernel's writecnt does. It is not
  // given back at munmap() (bpfbox sees no munmap): freezing after one fails with EBUSY.
  if (prot & PROT_WRITE)
    if (bpfbox::Status st = m->acquire_writable_mapping(); !st) return fail(st.err());
  void* p = mmap(addr, len, prot, flags, region->memfd, off_t(region->offset) + off);
  if (p == MAP_FAILED && (prot & PROT_WRITE)) m->release_writable_mapping();
  return p;
}
