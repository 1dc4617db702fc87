// epoll on a ring buffer's map fd (ring_buffer__new adds it, ring_buffer__poll waits) or on a perf
// event bpfbox serves (perf_buffer__new adds one per CPU): neither is a file epoll accepts (a map
// fd is a regular file, a served perf event a memfd), so the ring's own notification fd takes its
// place (an eventfd written when the kernel would wake the consumer: maps::ringbuf::wakeup_fd;
// PerfEventRing::wakeup_fd after each record, the wakeup_events = 1 libbpf sets), with the
// caller's events and data. Edge-triggered, so that each wakeup is one event without anyone
// reading the eventfd, as the kernel's wakeups are. Other fds are libc's.
#include <sys/epoll.h>

#include "bpfbox/maps.hpp"
#include "shim/object_kind.hpp"
#include "shim/real.hpp"
#include "sys/objects.hpp"
#include "sys/perf_events.hpp"

namespace bpfbox::shim {
namespace {

// The ring's eventfd for a ring buffer map fd or a perf event bpfbox serves, else -1.
int ringbuf_wakeup_fd(int fd) {
  if (inside_bpfbox()) return -1;
  const FdKind kind = fd_kind(fd);
  InBpfbox in;
  if (kind == FdKind::PerfEvent) return sys::PerfEvents::get().wakeup_fd(fd);
  if (kind != FdKind::Map) return -1;
  auto obj = sys::Objects::get().by_fd(fd, sys::Kind::Map);
  if (!obj || !(*obj)->map) return -1;
  return maps::ringbuf::wakeup_fd((*obj)->map.get());
}

}  // namespace
}  // namespace bpfbox::shim

extern "C" __attribute__((visibility("default"))) int epoll_ctl(int epfd, int op, int fd,
                                                                struct epoll_event* ev) {
  using namespace bpfbox::shim;
  using Fn = int (*)(int, int, int, struct epoll_event*);
  static Fn fn = real<Fn>("epoll_ctl");
  const int wfd = ringbuf_wakeup_fd(fd);
  if (wfd < 0) return fn(epfd, op, fd, ev);
  if (!ev) return fn(epfd, op, wfd, ev);
  struct epoll_event e = *ev;
  e.events |= EPOLLET;
  return fn(epfd, op, wfd, &e);
}
