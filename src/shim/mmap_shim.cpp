// mmap() of a bpfbox map fd maps the map's storage (bpfbox_map_mmap: the kernel's bpf_map_mmap):
// libbpf mmaps .data/.bss/.rodata after load (through mmap64), ring_buffer__new the ring buffer's
// pages. Every other mmap() is libc's; anonymous mappings (fd -1) look nothing up.
#include <sys/mman.h>

#include <cerrno>

#include "bpfbox/bpf.h"
#include "shim/object_kind.hpp"
#include "shim/real.hpp"

namespace bpfbox::shim {
namespace {

using MmapFn = void* (*)(void*, size_t, int, int, int, off_t);

void* shim_mmap(MmapFn real_fn, void* addr, size_t len, int prot, int flags, int fd, off_t off) {
  if (fd >= 0 && !inside_bpfbox()) {
    InBpfbox in;
    if (fd_kind(fd) == FdKind::Map) return bpfbox_map_mmap(addr, len, prot, flags, fd, off);
  }
  if (!real_fn) {
    errno = ENOSYS;
    return MAP_FAILED;
  }
  return real_fn(addr, len, prot, flags, fd, off);
}

}  // namespace
}  // namespace bpfbox::shim

extern "C" __attribute__((visibility("default"))) void* mmap(void* addr, size_t len, int prot,
                                                             int flags, int fd, off_t off) {
  using namespace bpfbox::shim;
  static MmapFn fn = real<MmapFn>("mmap");
  return shim_mmap(fn, addr, len, prot, flags, fd, off);
}

// off64_t is off_t on x86-64.
extern "C" __attribute__((visibility("default"))) void* mmap64(void* addr, size_t len, int prot,
                                                               int flags, int fd, off_t off) {
  using namespace bpfbox::shim;
  static MmapFn fn = real<MmapFn>("mmap64");
  return shim_mmap(fn, addr, len, prot, flags, fd, off);
}
