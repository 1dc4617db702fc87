// The in-process loader shim: this object defines syscall() in the executable that links it, so
// the dynamic linker binds libbpf.so's syscall(__NR_bpf, ...) to it. bpf() goes to bpfbox_bpf();
// every other number goes to libc's syscall(), found with dlsym(RTLD_NEXT). libbpf then is the
// loader (ELF, BTF, relocations, global data) and bpfbox answers its calls.
#include <dlfcn.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include <cerrno>
#include <cstdarg>

#include "bpfbox/bpf.h"

namespace {

using SyscallFn = long (*)(long, ...);

SyscallFn real_syscall() {
  static SyscallFn fn = reinterpret_cast<SyscallFn>(dlsym(RTLD_NEXT, "syscall"));
  return fn;
}

// bpfbox itself mmaps its storage files: while this thread is inside bpfbox (a bpf() call or a map
// mmap), mmap() goes straight to libc, or bpfbox would look the fd up under its own locks.
thread_local int t_depth = 0;

struct InBpfbox {
  InBpfbox() { t_depth++; }
  ~InBpfbox() { t_depth--; }
};

}  // namespace

// The x86-64 syscall ABI takes at most six integer arguments; reading six longs from the va_list
// and passing them on is what glibc's own syscall() does.
extern "C" __attribute__((visibility("default"))) long syscall(long number, ...) {
  va_list ap;
  va_start(ap, number);
  long a[6];
  for (long& x : a) x = va_arg(ap, long);
  va_end(ap);
  if (number == __NR_bpf) {
    InBpfbox in;
    return bpfbox_bpf(int(a[0]), reinterpret_cast<union bpf_attr*>(a[1]), unsigned(a[2]));
  }
  SyscallFn fn = real_syscall();
  if (!fn) {
    errno = ENOSYS;
    return -1;
  }
  return fn(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}

// mmap() of a bpfbox map fd maps the map's storage (libbpf mmaps .data/.bss/.rodata after load,
// through mmap64); every other mmap() is libc's. Anonymous mappings (fd -1) look nothing up.
namespace {

using MmapFn = void* (*)(void*, size_t, int, int, int, off_t);

void* shim_mmap(const char* real_name, void* addr, size_t len, int prot, int flags, int fd,
                off_t off) {
  if (fd >= 0 && t_depth == 0) {
    InBpfbox in;
    if (bpfbox_is_map_fd(fd)) return bpfbox_map_mmap(addr, len, prot, flags, fd, off);
  }
  auto real = reinterpret_cast<MmapFn>(dlsym(RTLD_NEXT, real_name));
  if (!real) {
    errno = ENOSYS;
    return MAP_FAILED;
  }
  return real(addr, len, prot, flags, fd, off);
}

}  // namespace

extern "C" __attribute__((visibility("default"))) void* mmap(void* addr, size_t len, int prot,
                                                             int flags, int fd, off_t off) {
  return shim_mmap("mmap", addr, len, prot, flags, fd, off);
}

// off64_t is off_t on x86-64.
extern "C" __attribute__((visibility("default"))) void* mmap64(void* addr, size_t len, int prot,
                                                               int flags, int fd, off_t off) {
  return shim_mmap("mmap64", addr, len, prot, flags, fd, off);
}
