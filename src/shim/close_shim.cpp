// close() of a bpfbox fd: the kernel frees an object when its last fd (pin, holder) goes. A
// bpfbox fd is a real fd, so close() itself needs nothing; but the process's object table keeps
// its own copy of the object until a sweep finds no fd naming it any more (src/sys, objects.hpp),
// and until then other processes still see the object alive. So after closing a bpfbox fd the
// shim sweeps. Other fds (found by object_kind: an fstat, and a pread for regular files) go
// straight to libc.
#include <unistd.h>

#include <cerrno>

#include "shim/object_kind.hpp"
#include "shim/real.hpp"
#include "sys/objects.hpp"
#include "sys/perf_events.hpp"

extern "C" __attribute__((visibility("default"))) int close(int fd) {
  using namespace bpfbox::shim;
  using Fn = int (*)(int);
  static Fn fn = real<Fn>("close");
  if (inside_bpfbox()) return fn(fd);
  const FdKind kind = fd_kind(fd);
  if (kind == FdKind::None) return fn(fd);
  const int r = fn(fd);
  const int e = errno;
  {
    InBpfbox in;
    if (kind == FdKind::PerfEvent)
      bpfbox::sys::PerfEvents::get().sweep();
    else
      bpfbox::sys::Objects::get().sweep();
  }
  errno = e;
  return r;
}
