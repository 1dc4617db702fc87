// syscall(__NR_bpf, ...) goes to bpfbox_bpf(); every other number to libc's syscall(). Defined in
// the executable that links the shim (the CLI: libbpf.so's calls bind to it) or in
// libbpfbox-preload.so (LD_PRELOAD: it comes before libc). libbpf then is the loader (ELF, BTF,
// relocations, global data) and bpfbox answers its calls.
#include <sys/syscall.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "bpfbox/bpf.h"
#include "shim/perf_event.hpp"
#include "shim/real.hpp"

namespace bpfbox::shim {
namespace {

using SyscallFn = long (*)(long, ...);

// BPFBOX_TRACE_BPF=1: one stderr line per bpf() call, what bpfbox answered (strace's view, with
// bpfbox's reason for a failure): how to see which of libbpf's probes and calls fail.
void trace_bpf(long cmd, int r) {
  static const bool on = std::getenv("BPFBOX_TRACE_BPF") != nullptr;
  if (!on) return;
  const int e = errno;
  if (r >= 0)
    std::fprintf(stderr, "bpfbox: bpf(%ld) = %d\n", cmd, r);
  else
    std::fprintf(stderr, "bpfbox: bpf(%ld) = -1 %s (%s)\n", cmd, strerrorname_np(e),
                 bpfbox_bpf_last_error());
  errno = e;
}

}  // namespace
}  // namespace bpfbox::shim

// The x86-64 syscall ABI takes at most six integer arguments; reading six longs from the va_list
// and passing them on is what glibc's own syscall() does.
extern "C" __attribute__((visibility("default"))) long syscall(long number, ...) {
  using namespace bpfbox::shim;
  va_list ap;
  va_start(ap, number);
  long a[6];
  for (long& x : a) x = va_arg(ap, long);
  va_end(ap);
  if (number == __NR_bpf) {
    InBpfbox in;
    const int r = bpfbox_bpf(int(a[0]), reinterpret_cast<union bpf_attr*>(a[1]), unsigned(a[2]));
    trace_bpf(a[0], r);
    return r;
  }
  if (number == __NR_perf_event_open)
    if (long r; serve_perf_event_open(a, &r)) return r;
  static SyscallFn fn = real<SyscallFn>("syscall");
  if (!fn) {
    errno = ENOSYS;
    return -1;
  }
  return fn(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}
