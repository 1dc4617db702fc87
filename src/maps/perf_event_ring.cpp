// PerfEventRing: the user-space ring of a PERF_COUNT_SW_BPF_OUTPUT event, in the kernel's perf
// mmap layout (kernel/events/ring_buffer.c):
//
//   page 0             struct perf_event_mmap_page: data_head (the writer's, stored with release
//                      after the records), data_tail (the consumer's), data_offset, data_size
//   pages 1..n         data: records {struct perf_event_header, body} 8-byte aligned, wrapping
//   page n + 1         private to writers: their lock and the count of lost samples
//
// A consumer maps pages 0..n of the memfd, as it would map a perf event fd.
#include <linux/perf_event.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "maps/arena.hpp"
#include "maps/map_ops.hpp"

namespace bpfbox::maps {

namespace {

struct WriterPage {
  SpinLock lock;
  uint32_t reserved;
  uint64_t lost;  // samples that found no room, reported by the next PERF_RECORD_LOST
};

struct LostRecord {
  perf_event_header header;
  uint64_t id;
  uint64_t lost;
};

perf_event_mmap_page* user_page(uint8_t* base) {
  return reinterpret_cast<perf_event_mmap_page*>(base);
}

}  // namespace

Result<std::unique_ptr<PerfEventRing>> PerfEventRing::create(uint32_t data_pages, int32_t cpu,
                                                             uint64_t id) {
  // No data page is the kernel's too (a mapping of the user page alone): every output is -ENOSPC.
  if (data_pages & (data_pages - 1))
    return Status(EINVAL, "a perf ring needs 0 or a power-of-two number of data pages");
  uint64_t size = (uint64_t(data_pages) + 2) * kPageSize;
  auto arena = Arena::create("bpfbox-perf-ring", size);
  if (!arena) return arena.status();
  std::unique_ptr<PerfEventRing> r(new PerfEventRing());
  r->memfd_ = arena->fd;
  r->base_ = arena->base;
  r->cpu_ = cpu;
  r->id_ = id;
  r->data_pages_ = data_pages;
  r->wakeup_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  perf_event_mmap_page* up = user_page(r->base_);
  up->version = 0;
  up->compat_version = 0;
  up->cap_bit0_is_deprecated = 1;
  up->size = offsetof(perf_event_mmap_page, __reserved);
  up->data_offset = kPageSize;
  up->data_size = uint64_t(data_pages) * kPageSize;
  new (r->base_ + (uint64_t(data_pages) + 1) * kPageSize) WriterPage();
  return r;
}

Status PerfEventRing::resize(uint32_t data_pages) {
  if (mapped()) return Status(EBUSY, "the ring is mapped");
  auto fresh = create(data_pages, cpu_, id_);
  if (!fresh) return fresh.status();
  // The fresh ring takes the old pages with it; the wakeup eventfd stays (waiters may hold it).
  std::swap(memfd_, (*fresh)->memfd_);
  std::swap(base_, (*fresh)->base_);
  std::swap(data_pages_, (*fresh)->data_pages_);
  return Status::ok();
}

PerfEventRing::~PerfEventRing() {
  Arena{memfd_, base_, (uint64_t(data_pages_) + 2) * kPageSize}.release();
  if (wakeup_fd_ >= 0) close(wakeup_fd_);
}

uint64_t PerfEventRing::mmap_size() const {
  return (uint64_t(data_pages_) + 1) * kPageSize;
}

uint64_t PerfEventRing::lost() const {
  auto* w = reinterpret_cast<WriterPage*>(base_ + (uint64_t(data_pages_) + 1) * kPageSize);
  SpinGuard g(w->lock);
  return w->lost;
}

// perf_output_begin + perf_output_sample for a sample_type of PERF_SAMPLE_RAW.
long PerfEventRing::output(const void* data, uint64_t size) {
  uint64_t raw_size = round_up(size + 4, 8) - 4;  // the u32 size and the data, 8-byte aligned
  uint64_t rec_size = sizeof(perf_event_header) + 4 + raw_size;
  if (rec_size > UINT16_MAX) return -E2BIG;
  perf_event_mmap_page* up = user_page(base_);
  uint8_t* ring = base_ + kPageSize;
  const uint64_t ring_size = uint64_t(data_pages_) * kPageSize;
  auto* w = reinterpret_cast<WriterPage*>(base_ + (uint64_t(data_pages_) + 1) * kPageSize);
  auto* head_word = reinterpret_cast<std::atomic<uint64_t>*>(&up->data_head);
  auto* tail_word = reinterpret_cast<std::atomic<uint64_t>*>(&up->data_tail);
  {
    SpinGuard g(w->lock);
    uint64_t head = head_word->load(std::memory_order_relaxed);
    uint64_t tail = tail_word->load(std::memory_order_acquire);
    uint64_t need = rec_size + (w->lost ? sizeof(LostRecord) : 0);
    // The kernel's CIRC_SPACE: a ring is full one byte short of its size (head == tail only
    // when empty).
    if (head - tail + need >= ring_size) {
      ++w->lost;
      return -ENOSPC;
    }
    auto put = [&](const void* src, uint64_t n) {
      uint64_t off = head & (ring_size - 1);
      uint64_t first = std::min(n, ring_size - off);
      std::memcpy(ring + off, src, first);
      std::memcpy(ring, static_cast<const uint8_t*>(src) + first, n - first);
      head += n;
    };
    if (w->lost) {
      LostRecord lost{{PERF_RECORD_LOST, 0, sizeof(LostRecord)}, id_, w->lost};
      put(&lost, sizeof lost);
      w->lost = 0;
    }
    perf_event_header hdr{PERF_RECORD_SAMPLE, 0, static_cast<uint16_t>(rec_size)};
    uint32_t raw = static_cast<uint32_t>(raw_size);
    static constexpr uint8_t kZeros[8] = {};
    put(&hdr, sizeof hdr);
    put(&raw, 4);
    put(data, size);
    put(kZeros, raw_size - size);
    head_word->store(head, std::memory_order_release);
  }
  if (wakeup_fd_ >= 0) {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = write(wakeup_fd_, &one, sizeof one);
  }
  return 0;
}

}  // namespace bpfbox::maps
