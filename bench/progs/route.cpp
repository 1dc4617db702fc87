// The bpf() router of route.hpp. bpfbox's own mmap() calls (its map storage) happen inside
// bpfbox_bpf() or bpfbox_map_mmap(); t_depth sends those straight to libc.
#include "route.hpp"

#include <dlfcn.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include <cerrno>
#include <cstdarg>

#include "bpfbox/bpf.h"

namespace bpfbox::progbench {
namespace {

thread_local Target t_target = Target::Bpfbox;
thread_local int t_depth = 0;

struct InBpfbox {
  InBpfbox() { t_depth++; }
  ~InBpfbox() { t_depth--; }
};

using SyscallFn = long (*)(long, ...);
using MmapFn = void* (*)(void*, size_t, int, int, int, off_t);

void* route_mmap(const char* real_name, void* addr, size_t len, int prot, int flags, int fd,
                 off_t off) {
  if (fd >= 0 && t_depth == 0 && t_target == Target::Bpfbox) {
    InBpfbox in;
    if (bpfbox_is_map_fd(fd)) return bpfbox_map_mmap(addr, len, prot, flags, fd, off);
  }
  static MmapFn real_mmap = reinterpret_cast<MmapFn>(dlsym(RTLD_NEXT, "mmap"));
  static MmapFn real_mmap64 = reinterpret_cast<MmapFn>(dlsym(RTLD_NEXT, "mmap64"));
  MmapFn real = real_name[4] ? real_mmap64 : real_mmap;
  if (!real) {
    errno = ENOSYS;
    return MAP_FAILED;
  }
  return real(addr, len, prot, flags, fd, off);
}

}  // namespace

Route::Route(Target t) : saved_(t_target) {
  t_target = t;
}
Route::~Route() {
  t_target = saved_;
}

}  // namespace bpfbox::progbench

using bpfbox::progbench::InBpfbox;
using bpfbox::progbench::Target;

extern "C" __attribute__((visibility("default"))) long syscall(long number, ...) {
  va_list ap;
  va_start(ap, number);
  long a[6];
  for (long& x : a) x = va_arg(ap, long);
  va_end(ap);
  if (number == __NR_bpf && bpfbox::progbench::t_target == Target::Bpfbox) {
    InBpfbox in;
    return bpfbox_bpf(int(a[0]), reinterpret_cast<union bpf_attr*>(a[1]), unsigned(a[2]));
  }
  static auto real = reinterpret_cast<bpfbox::progbench::SyscallFn>(dlsym(RTLD_NEXT, "syscall"));
  if (!real) {
    errno = ENOSYS;
    return -1;
  }
  return real(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}

extern "C" __attribute__((visibility("default"))) void* mmap(void* addr, size_t len, int prot,
                                                             int flags, int fd, off_t off) {
  return bpfbox::progbench::route_mmap("mmap", addr, len, prot, flags, fd, off);
}

extern "C" __attribute__((visibility("default"))) void* mmap64(void* addr, size_t len, int prot,
                                                               int flags, int fd, off_t off) {
  return bpfbox::progbench::route_mmap("mmap64", addr, len, prot, flags, fd, off);
}
