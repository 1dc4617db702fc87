// BPF_MAP_TYPE_RINGBUF (the kernel's ringbuf.c), with the kernel's memory layout so that a
// consumer written for the kernel (libbpf's ring_buffer__poll) works on an mmap of it:
//
//   arena page 0      MapHeader, the producer lock, pending_pos (private to producers)
//   arena page 1      consumer page: consumer_pos at offset 0 (user space writes it)
//   arena page 2      producer page: producer_pos at offset 0
//   arena pages 3..   max_entries bytes of data
//
// mmap_region() starts at page 1; like the kernel, a consumer maps the data twice in a row so
// records that wrap around read contiguously. Records are an 8-byte header {u32 len with the BUSY
// and DISCARD bits; u32 pg_off} and the sample, rounded up to 8 bytes. Producers write through a
// process-local view [meta page][data][data] (the data mapped twice) so they can write a wrapping
// record in one go; a record's pg_off leads from its header back to the meta page, which names
// the Map, so bpf_ringbuf_submit needs nothing but the sample.
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <string>

#include "maps/map_ops.hpp"

namespace bpfbox::maps {

namespace {

constexpr uint64_t kPrivOff = kMapHeaderSize;
constexpr uint64_t kConsumerOff = kPageSize;
constexpr uint64_t kProducerOff = 2 * kPageSize;
constexpr uint64_t kDataOff = 3 * kPageSize;
constexpr uint32_t kHdrSize = BPF_RINGBUF_HDR_SZ;
constexpr uint32_t kBusyBit = BPF_RINGBUF_BUSY_BIT;
constexpr uint32_t kDiscardBit = BPF_RINGBUF_DISCARD_BIT;

struct RingPriv {
  SpinLock lock;
  uint32_t reserved;
  uint64_t pending_pos;
};

struct RingView {
  Map* map;  // at the start of the meta page
  uint8_t* meta;
  uint8_t* data;  // data, then the same data again
  uint64_t mask;
  RingPriv* priv;
  std::atomic<uint64_t>* consumer_pos;
  std::atomic<uint64_t>* producer_pos;
  int wakeup_fd;  // eventfd written when the kernel would wake the consumer
};

RingView& view(const Map& m) {
  return *static_cast<RingView*>(m.impl);
}

Status alloc_check(const MapAttr& a) {
  if (a.map_flags & ~uint32_t(BPF_F_NUMA_NODE))
    return Status(EINVAL, "unsupported map_flags for a ring buffer");
  if (a.key_size || a.value_size)
    return Status(EINVAL, "ring buffers take no key or value (key_size and value_size must be 0)");
  if (a.max_entries == 0 || (a.max_entries & (a.max_entries - 1)) || a.max_entries % kPageSize)
    return Status(EINVAL,
                  "ring buffer size (max_entries) must be a power of two and a multiple "
                  "of the page size");
  return Status::ok();
}

Result<uint64_t> arena_size(const MapAttr& a) {
  return kDataOff - kMapHeaderSize + a.max_entries;
}

void init(const MapAttr&, uint8_t* base) {
  new (base + kPrivOff) RingPriv();
}

void bind(Map& m) {
  auto* v = new RingView();
  uint64_t size = m.max_entries();
  v->map = &m;
  v->mask = size - 1;
  v->priv = reinterpret_cast<RingPriv*>(m.arena_base() + kPrivOff);
  v->consumer_pos = reinterpret_cast<std::atomic<uint64_t>*>(m.arena_base() + kConsumerOff);
  v->producer_pos = reinterpret_cast<std::atomic<uint64_t>*>(m.arena_base() + kProducerOff);
  v->wakeup_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  // [meta page][data][data]: the meta page is private memory naming this Map.
  void* p = mmap(nullptr, kPageSize + 2 * size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                 -1, 0);
  if (p != MAP_FAILED) {
    auto* base = static_cast<uint8_t*>(p);
    bool ok = storage_mmap(base + kPageSize, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
                           m.memfd(), kDataOff) != MAP_FAILED &&
              storage_mmap(base + kPageSize + size, size, PROT_READ | PROT_WRITE,
                           MAP_SHARED | MAP_FIXED, m.memfd(), kDataOff) != MAP_FAILED;
    if (ok) {
      v->meta = base;
      v->data = base + kPageSize;
      *reinterpret_cast<Map**>(base) = &m;
    } else {
      munmap(p, kPageSize + 2 * size);
    }
  }
  m.impl = v;  // v->data stays null if the view could not be mapped: reserve fails
}

void unbind(Map& m) {
  auto* v = static_cast<RingView*>(m.impl);
  if (v->meta) munmap(v->meta, kPageSize + 2 * uint64_t(m.max_entries()));
  if (v->wakeup_fd >= 0) close(v->wakeup_fd);
  delete v;
  m.impl = nullptr;
}

Result<MmapRegion> mmap_region(const Map& m) {
  return MmapRegion{m.memfd(), kConsumerOff, 2 * kPageSize + uint64_t(m.max_entries())};
}

}  // namespace

namespace ringbuf {

void* reserve(Map* m, uint64_t size, uint64_t flags) {
  if (flags || m->type() != BPF_MAP_TYPE_RINGBUF) return nullptr;
  RingView& v = view(*m);
  if (!v.data || size > (UINT32_MAX >> 2)) return nullptr;
  uint64_t len = round_up(size + kHdrSize, 8);
  if (len > v.mask + 1) return nullptr;
  uint64_t cons_pos = v.consumer_pos->load(std::memory_order_acquire);
  SpinGuard g(v.priv->lock);
  uint64_t pend_pos = v.priv->pending_pos;
  uint64_t prod_pos = v.producer_pos->load(std::memory_order_relaxed);
  uint64_t new_prod_pos = prod_pos + len;
  // Skip records already committed, to know the oldest one still being written.
  while (pend_pos < prod_pos) {
    auto* len_word = reinterpret_cast<uint32_t*>(v.data + (pend_pos & v.mask));
    uint32_t hdr_len = __atomic_load_n(len_word, __ATOMIC_ACQUIRE);
    if (hdr_len & kBusyBit) break;
    pend_pos += round_up((hdr_len & ~kDiscardBit) + kHdrSize, 8);
  }
  v.priv->pending_pos = pend_pos;
  // Neither the unconsumed data nor the uncommitted records may span the whole ring.
  if (new_prod_pos - cons_pos > v.mask || new_prod_pos - pend_pos > v.mask) return nullptr;
  uint8_t* hdr = v.data + (prod_pos & v.mask);
  uint32_t pg_off = static_cast<uint32_t>((reinterpret_cast<uintptr_t>(hdr) & ~(kPageSize - 1)) -
                                          reinterpret_cast<uintptr_t>(v.meta)) /
                    kPageSize;
  __atomic_store_n(reinterpret_cast<uint32_t*>(hdr), uint32_t(size) | kBusyBit, __ATOMIC_RELAXED);
  std::memcpy(hdr + 4, &pg_off, 4);
  v.producer_pos->store(new_prod_pos, std::memory_order_release);
  return hdr + kHdrSize;
}

// bpf_ringbuf_commit: the record's pg_off leads back to the meta page and so to the Map.
static void commit(void* sample, uint64_t flags, bool discard) {
  auto* hdr = static_cast<uint8_t*>(sample) - kHdrSize;
  auto* len_word = reinterpret_cast<uint32_t*>(hdr);
  // Find the ring before publishing: once the busy bit is clear the consumer may free the record
  // and another producer may reuse its header (the kernel restores rb from the record first too).
  uint32_t pg_off;
  std::memcpy(&pg_off, hdr + 4, 4);
  auto* meta = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(hdr) & ~(kPageSize - 1)) -
                                          uint64_t(pg_off) * kPageSize);
  RingView& v = view(**reinterpret_cast<Map**>(meta));
  uint32_t new_len = __atomic_load_n(len_word, __ATOMIC_RELAXED) ^ kBusyBit;
  if (discard) new_len |= kDiscardBit;
  __atomic_exchange_n(len_word, new_len, __ATOMIC_ACQ_REL);
  // Wake the consumer when it has caught up with this record (it may be sleeping), as the kernel.
  uint64_t rec_pos = static_cast<uint64_t>(hdr - v.data) & v.mask;
  uint64_t cons_pos = v.consumer_pos->load(std::memory_order_acquire) & v.mask;
  bool wake = (flags & BPF_RB_FORCE_WAKEUP) || (cons_pos == rec_pos && !(flags & BPF_RB_NO_WAKEUP));
  if (wake && v.wakeup_fd >= 0) {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = write(v.wakeup_fd, &one, sizeof one);
  }
}

void submit(void* sample, uint64_t flags) {
  commit(sample, flags, false);
}
void discard(void* sample, uint64_t flags) {
  commit(sample, flags, true);
}

long output(Map* m, const void* data, uint64_t size, uint64_t flags) {
  if (flags & ~uint64_t(BPF_RB_NO_WAKEUP | BPF_RB_FORCE_WAKEUP)) return -EINVAL;
  void* rec = reserve(m, size, 0);
  if (!rec) return -EAGAIN;
  std::memcpy(rec, data, size);
  submit(rec, flags);
  return 0;
}

int wakeup_fd(const Map* m) {
  return m->type() == BPF_MAP_TYPE_RINGBUF ? view(*m).wakeup_fd : -1;
}

uint64_t query(Map* m, uint64_t flags) {
  RingView& v = view(*m);
  uint64_t cons = v.consumer_pos->load(std::memory_order_acquire);
  uint64_t prod = v.producer_pos->load(std::memory_order_acquire);
  switch (flags) {
    case BPF_RB_AVAIL_DATA:
      return prod - cons;
    case BPF_RB_RING_SIZE:
      return v.mask + 1;
    case BPF_RB_CONS_POS:
      return cons;
    case BPF_RB_PROD_POS:
      return prod;
    default:
      return 0;
  }
}

}  // namespace ringbuf

namespace {
constexpr MapOps make_ops() {
  MapOps o{.name = "BPF_MAP_TYPE_RINGBUF"};
  o.alloc_check = alloc_check;
  o.arena_size = arena_size;
  o.init = init;
  o.bind = bind;
  o.unbind = unbind;
  o.mmap_region = mmap_region;
  o.missing_delete_errno = kENOTSUPP;
  o.missing_get_next_key_errno = kENOTSUPP;
  return o;
}
}  // namespace

const MapOps kRingbufOps = make_ops();

}  // namespace bpfbox::maps
