#include "sys/perf_events.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <set>

namespace bpfbox::sys {
namespace {

constexpr uint64_t kPage = 4096;

std::optional<InodeKey> inode_of(int fd) {
  struct stat st {};
  if (fd < 0 || fstat(fd, &st) != 0) return std::nullopt;
  return InodeKey{st.st_dev, st.st_ino};
}

}  // namespace

PerfEvents& PerfEvents::get() {
  static auto* events = new PerfEvents();
  return *events;
}

bool PerfEvents::serves(const perf_event_attr& attr) {
  return attr.type == PERF_TYPE_SOFTWARE && attr.config == PERF_COUNT_SW_BPF_OUTPUT;
}

Result<int> PerfEvents::open(const perf_event_attr& attr, pid_t pid, int cpu, int group_fd,
                             unsigned long flags) {
  constexpr unsigned long kKnownFlags =
      PERF_FLAG_FD_NO_GROUP | PERF_FLAG_FD_OUTPUT | PERF_FLAG_PID_CGROUP | PERF_FLAG_FD_CLOEXEC;
  if (flags & ~kKnownFlags) return Status(EINVAL, "unknown perf_event_open flags");
  // perf_copy_attr: 0 means the first version's size; smaller ones are refused.
  if (attr.size != 0 && attr.size < PERF_ATTR_SIZE_VER0)
    return Status(E2BIG, "perf_event_attr size is too small");
  if (pid == -1 && cpu == -1) return Status(EINVAL, "an event needs a task or a CPU");
  if (cpu < -1 || (cpu >= 0 && uint32_t(cpu) >= maps::nr_possible_cpus()))
    return Status(EINVAL, "no such CPU");
  // maps::PerfEventRing writes what bpf_perf_event_output's samples carry for libbpf's perf_buffer:
  // the raw data only. A consumer asking for more (bpftool's event_pipe: a timestamp) would
  // misread the records, so it is told at once.
  if (attr.sample_type & ~uint64_t(PERF_SAMPLE_RAW))
    return Status(EOPNOTSUPP, "bpfbox's BPF output events carry PERF_SAMPLE_RAW only");
  if (group_fd != -1 || (flags & (PERF_FLAG_FD_OUTPUT | PERF_FLAG_PID_CGROUP)))
    return Status(EOPNOTSUPP,
                  "bpfbox's BPF output events take no group, output redirection or cgroup");
  const int fd = memfd_create(
      "bpfbox-perf-event", MFD_ALLOW_SEALING | ((flags & PERF_FLAG_FD_CLOEXEC) ? MFD_CLOEXEC : 0));
  if (fd < 0) return Status(errno, "memfd_create failed");
  if (pwrite(fd, kPerfEventMagic, sizeof kPerfEventMagic, 0) != ssize_t(sizeof kPerfEventMagic)) {
    const int e = errno;
    close(fd);
    return Status(e, "cannot write the event's file");
  }
  fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
  auto key = inode_of(fd);
  if (!key) {
    const int e = errno;
    close(fd);
    return Status(e, "fstat of the event's file failed");
  }
  auto ev = std::make_unique<Event>();
  ev->cpu = pid == -1 ? cpu : -1;
  ev->enabled = !attr.disabled;
  std::lock_guard g(mu_);
  ev->id = next_id_++;
  events_[*key] = std::move(ev);
  return fd;
}

// The event's ring, of mmap length len (the user page and the data pages), in its enabled state.
Status PerfEvents::make_ring(Event& ev, uint64_t len) {
  auto ring = maps::PerfEventRing::create(uint32_t(len / kPage - 1), ev.cpu, ev.id);
  if (!ring) return ring.status();
  ev.ring = std::move(*ring);
  ev.ring->set_enabled(ev.enabled);
  ev.mmap_len = len;
  return Status::ok();
}

PerfEvents::Event* PerfEvents::find_locked(int fd) {
  auto key = inode_of(fd);
  if (!key) return nullptr;
  auto it = events_.find(*key);
  return it == events_.end() ? nullptr : it->second.get();
}

bool PerfEvents::is_event(int fd) {
  std::lock_guard g(mu_);
  return find_locked(fd) != nullptr;
}

Result<int> PerfEvents::mmap_fd(int fd, uint64_t len, int64_t off) {
  std::lock_guard g(mu_);
  Event* ev = find_locked(fd);
  if (!ev) return Status(ENODEV, "not a perf event bpfbox serves");
  if (off != 0) return Status(EINVAL, "bpfbox's perf events have no AUX area");
  // perf_mmap: the user page alone, or with 2^n data pages.
  const uint64_t data_pages = len / kPage - 1;
  if (len % kPage || len < kPage || (data_pages && !std::has_single_bit(data_pages)))
    return Status(EINVAL, "a perf mapping is one page plus 0 or 2^n data pages");
  if (ev->ring && !ev->ring->mapped() && ev->mmap_len != len) {
    // The ring a PERF_EVENT_ARRAY made before any mapping: the first mapping sets its size.
    if (Status st = ev->ring->resize(uint32_t(data_pages)); !st) return st;
    ev->mmap_len = len;
  }
  if (ev->ring && ev->mmap_len != len)
    return Status(EINVAL, "the event's ring is already mapped with another size");
  if (!ev->ring) {
    if (Status st = make_ring(*ev, len); !st) return st;
  }
  ev->ring->set_mapped(true);
  return ev->ring->memfd();
}

Result<int> PerfEvents::ioctl(int fd, unsigned long request, unsigned long arg) {
  std::lock_guard g(mu_);
  Event* ev = find_locked(fd);
  if (!ev) return Status(ENOTTY, "not a perf event bpfbox serves");
  switch (request) {
    case PERF_EVENT_IOC_ENABLE:
    case PERF_EVENT_IOC_DISABLE:
      ev->enabled = request == PERF_EVENT_IOC_ENABLE;
      if (ev->ring) ev->ring->set_enabled(ev->enabled);
      return 0;
    case PERF_EVENT_IOC_RESET:  // a BPF output event counts nothing
      return 0;
    case PERF_EVENT_IOC_ID: {
      auto* out = reinterpret_cast<uint64_t*>(arg);
      if (!out) return Status(EFAULT, "PERF_EVENT_IOC_ID needs a u64 to write");
      *out = ev->id;
      return 0;
    }
    case PERF_EVENT_IOC_SET_BPF:
      return Status(EINVAL, "a BPF output event runs no program");
    default:
      return Status(ENOTTY, "perf ioctl not served by bpfbox");
  }
}

int PerfEvents::wakeup_fd(int fd) {
  std::lock_guard g(mu_);
  Event* ev = find_locked(fd);
  return ev && ev->ring ? ev->ring->wakeup_fd() : -1;
}

Result<maps::ObjectRef> PerfEvents::ref(int fd) {
  std::lock_guard g(mu_);
  Event* ev = find_locked(fd);
  if (!ev) return Status(EBADF, "fd is not a perf event");
  if (!ev->ring) {  // unmapped until a consumer maps it: output is -ENOSPC until then
    if (Status st = make_ring(*ev, 2 * kPage); !st) return st;
    ev->ring->set_mapped(false);
  }
  ++ev->holders;
  maps::ObjectRef r;
  r.kind = maps::ObjectKind::PerfEvent;
  r.perf = ev->ring.get();
  return r;
}

void PerfEvents::unref(const maps::ObjectRef& ref) {
  {
    std::lock_guard g(mu_);
    for (auto& [key, ev] : events_)
      if (ev->ring.get() == ref.perf && ev->holders > 0) {
        --ev->holders;
        break;
      }
  }
  sweep();
}

void PerfEvents::sweep() {
  {
    std::lock_guard g(mu_);
    if (events_.empty()) return;
  }
  std::set<InodeKey> named;
  if (DIR* d = opendir("/proc/self/fd")) {
    const int self = dirfd(d);
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
      const int fd = std::atoi(e->d_name);
      if (fd == self) continue;
      if (auto key = inode_of(fd)) named.insert(*key);
    }
    closedir(d);
  }
  std::lock_guard g(mu_);
  for (auto it = events_.begin(); it != events_.end();) {
    if (!named.count(it->first) && it->second->holders == 0)
      it = events_.erase(it);
    else
      ++it;
  }
}

size_t PerfEvents::live_count() {
  std::lock_guard g(mu_);
  return events_.size();
}

}  // namespace bpfbox::sys
