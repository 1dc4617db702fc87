// perf_event_open of the BPF output event (PERF_TYPE_SOFTWARE, PERF_COUNT_SW_BPF_OUTPUT), which
// libbpf's perf_buffer__new and bpftool's `map event_pipe` open per CPU and put in a
// PERF_EVENT_ARRAY, and the ioctls they make on it: served by bpfbox (sys::PerfEvents), since
// bpfbox's programs write to those events, not the kernel's. Other perf events are the kernel's.
// The event's mmap (the ring, in the kernel's perf_event_mmap_page layout), epoll (the ring's
// eventfd) and close are in mmap_shim.cpp, epoll_shim.cpp and close_shim.cpp.
#include "shim/perf_event.hpp"

#include <linux/perf_event.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstdarg>

#include "shim/object_kind.hpp"
#include "shim/real.hpp"
#include "sys/perf_events.hpp"

namespace bpfbox::shim {

bool serve_perf_event_open(const long (&a)[6], long* result) {
  const auto* attr = reinterpret_cast<const perf_event_attr*>(a[0]);
  if (inside_bpfbox() || !attr || !sys::PerfEvents::serves(*attr)) return false;
  InBpfbox in;
  auto fd = sys::PerfEvents::get().open(*attr, pid_t(a[1]), int(a[2]), int(a[3]),
                                        static_cast<unsigned long>(a[4]));
  if (!fd) {
    errno = fd.status().err();
    *result = -1;
  } else {
    *result = *fd;
  }
  return true;
}

}  // namespace bpfbox::shim

// Perf ioctls ('$') on a served event; everything else is libc's, looked at no further.
extern "C" __attribute__((visibility("default"))) int ioctl(int fd, unsigned long request, ...) {
  using namespace bpfbox::shim;
  using Fn = int (*)(int, unsigned long, ...);
  static Fn fn = real<Fn>("ioctl");
  va_list ap;
  va_start(ap, request);
  const unsigned long arg = va_arg(ap, unsigned long);
  va_end(ap);
  if (_IOC_TYPE(request) == '$' && !inside_bpfbox() && fd_kind(fd) == FdKind::PerfEvent) {
    InBpfbox in;
    auto r = bpfbox::sys::PerfEvents::get().ioctl(fd, request, arg);
    if (r) return *r;
    errno = r.status().err();
    return -1;
  }
  if (!fn) {
    errno = ENOSYS;
    return -1;
  }
  return fn(fd, request, arg);
}
