// Perf events bpfbox serves: perf_event_open(PERF_TYPE_SOFTWARE, PERF_COUNT_SW_BPF_OUTPUT), what
// libbpf's perf_buffer and bpftool's `map event_pipe` open per CPU and store in a
// PERF_EVENT_ARRAY. The fd is a real one, on a small memfd that names the event ("BFBOXPRF", so
// the shim tells it apart as it does bpf objects); the ring (maps::PerfEventRing, the kernel's
// perf mmap layout) is made at the first mmap, whose length sets its size as the kernel's
// perf_mmap does. Events are found by (st_dev, st_ino), so dup() and fork() need nothing; one
// lives while an fd of the process names it or a PERF_EVENT_ARRAY holds it. Process-local, as
// the kernel's perf event files are to the processes holding them.
#pragma once

#include <linux/perf_event.h>
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>

#include "bpfbox/maps.hpp"
#include "sys/ids.hpp"

namespace bpfbox::sys {

constexpr char kPerfEventMagic[8] = {'B', 'F', 'B', 'O', 'X', 'P', 'R', 'F'};

class PerfEvents {
 public:
  static PerfEvents& get();  // never destroyed (maps may outlive main)

  // Whether bpfbox serves perf_event_open for this attr (the BPF output event); others are the
  // kernel's.
  static bool serves(const perf_event_attr& attr);
  // perf_event_open's checks for the BPF output event (EINVAL for a bad pid/cpu pair or flags,
  // E2BIG for an attr size below the first version's; EOPNOTSUPP for a sample_type other than
  // PERF_SAMPLE_RAW, a group or an output redirection: bpfbox's deliberate limits), then a new fd.
  Result<int> open(const perf_event_attr& attr, pid_t pid, int cpu, int group_fd,
                   unsigned long flags);
  // Whether fd names an event bpfbox serves.
  bool is_event(int fd);
  // perf_mmap: `len` is the user page plus 0 or 2^n data pages, from offset 0. The first mapping
  // sets the ring's size (also of the ring ref() made); later ones must have the same length
  // (EINVAL). Returns the ring's memfd, to map.
  Result<int> mmap_fd(int fd, uint64_t len, int64_t off);
  // PERF_EVENT_IOC_ENABLE / DISABLE / RESET / ID (ENOTTY for the others, as for an unknown
  // request; EINVAL for SET_BPF: nothing to attach to).
  Result<int> ioctl(int fd, unsigned long request, unsigned long arg);
  // The eventfd readable after each record, -1 when fd is not an event or has no ring yet.
  int wakeup_fd(int fd);
  // A PERF_EVENT_ARRAY's reference (ObjectTable::ref_perf_event_fd): EBADF when fd is not open
  // or not a BPF output event. An event not mmapped yet gets its ring now (one data page), marked
  // unmapped (output -ENOSPC, as the kernel's without a ring buffer) until a consumer maps it
  // with that size.
  Result<maps::ObjectRef> ref(int fd);
  void unref(const maps::ObjectRef& ref);
  // Drops the events no fd of the process names and no map holds (after close()).
  void sweep();
  size_t live_count();  // tests

 private:
  struct Event {
    int32_t cpu = -1;
    uint64_t id = 0;
    bool enabled = false;
    uint64_t mmap_len = 0;
    std::unique_ptr<maps::PerfEventRing> ring;
    int holders = 0;  // PERF_EVENT_ARRAY slots
  };
  PerfEvents() = default;
  Event* find_locked(int fd);
  static Status make_ring(Event& ev, uint64_t len);

  std::mutex mu_;
  std::map<InodeKey, std::unique_ptr<Event>> events_;
  uint64_t next_id_ = 1;
};

}  // namespace bpfbox::sys
