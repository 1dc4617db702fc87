// mmap() of a bpfbox map fd maps the map's storage (bpfbox_map_mmap: the kernel's bpf_map_mmap):
// libbpf mmaps .data/.bss/.rodata after load (through mmap64), ring_buffer__new the ring buffer's
// pages. Every other mmap() is libc's; anonymous mappings (fd -1) look nothing up.
//
// A ring buffer's consumer maps its data twice in a row after the producer page (the kernel's
// vmap of the ring is made so), so that a record that wraps reads as one piece. bpfbox's region
// holds the data once: such a mapping is made of two mappings of the region side by side.
//
// A perf event bpfbox serves (perf_event_shim.cpp) maps its ring: the user page and the data
// pages of the ring's memfd, as the kernel's perf_mmap maps the event's buffer.
//
// A writable mapping of a map is noted (map_mappings.hpp) so that munmap gives its count back.
#include <sys/mman.h>

#include <cerrno>

#include "bpfbox/bpf.h"
#include "bpfbox/maps.hpp"
#include "shim/map_mappings.hpp"
#include "shim/object_kind.hpp"
#include "shim/real.hpp"
#include "sys/objects.hpp"
#include "sys/perf_events.hpp"

namespace bpfbox::shim {
namespace {

using MmapFn = void* (*)(void*, size_t, int, int, int, off_t);

// The ring's region: consumer page, producer page, then max_entries bytes of data. A read-only
// mapping from `off` that runs past the data into its second copy: the part up to the end of the
// region, then the data again from its start, at fixed addresses inside one reservation.
void* ringbuf_mmap(MmapFn real_fn, void* addr, size_t len, int prot, int flags, int fd, off_t off) {
  auto obj = sys::Objects::get().by_fd(fd, sys::Kind::Map);
  if (!obj || !(*obj)->map || (*obj)->map->type() != BPF_MAP_TYPE_RINGBUF) return nullptr;
  auto region = (*obj)->map->mmap_region();
  const uint64_t data_size = (*obj)->map->max_entries();
  if (!region || region->size < data_size || off < 0) return nullptr;
  const uint64_t data_off = region->size - data_size;
  const uint64_t end = uint64_t(off) + len;
  if (end <= region->size || end > region->size + data_size || uint64_t(off) > data_off ||
      (prot & PROT_WRITE) || !real_fn)
    return nullptr;
  const size_t first = size_t(region->size - uint64_t(off));
  void* base =
      real_fn(addr, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | (flags & MAP_FIXED), -1, 0);
  if (base == MAP_FAILED) return MAP_FAILED;
  auto* b = static_cast<char*>(base);
  if (bpfbox_map_mmap(b, first, prot, flags | MAP_FIXED, fd, off) == MAP_FAILED ||
      bpfbox_map_mmap(b + first, len - first, prot, flags | MAP_FIXED, fd, off_t(data_off)) ==
          MAP_FAILED) {
    const int e = errno;
    munmap(base, len);
    errno = e;
    return MAP_FAILED;
  }
  return base;
}

void* shim_mmap(MmapFn real_fn, void* addr, size_t len, int prot, int flags, int fd, off_t off) {
  if ((flags & MAP_FIXED) && !inside_bpfbox()) forget_mappings(addr, len);  // replaced: unmapped
  if (fd >= 0 && !inside_bpfbox()) {
    InBpfbox in;
    if (fd_kind(fd) == FdKind::Map) {
      if (void* p = ringbuf_mmap(real_fn, addr, len, prot, flags, fd, off)) return p;
      void* p = bpfbox_map_mmap(addr, len, prot, flags, fd, off);
      if (p != MAP_FAILED && (prot & PROT_WRITE))
        if (auto obj = sys::Objects::get().by_fd(fd, sys::Kind::Map); obj && (*obj)->map)
          note_writable_mapping(p, len, (*obj)->map);
      return p;
    }
    if (fd_kind(fd) == FdKind::PerfEvent) {
      auto ring_fd = sys::PerfEvents::get().mmap_fd(fd, len, off);
      if (!ring_fd) {
        errno = ring_fd.status().err();
        return MAP_FAILED;
      }
      return real_fn ? real_fn(addr, len, prot, flags, *ring_fd, 0) : MAP_FAILED;
    }
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
