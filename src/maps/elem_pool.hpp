// Fixed-size elements in an arena, handed out by index (1-based; 0 is "none"), for maps whose
// elements come and go (hash, LRU, LPM trie). An element that was visible to lock-free readers is
// retired, not freed: it waits in a FIFO "limbo" list tagged with the RunDomain epoch and is reused
// only when no run that could have seen it is still active. Never-published elements go straight
// back to a free list.
//
// As the kernel's per-CPU freelists: free and limbo lists are per CPU slot (a cache each, with its
// own lock and cache line), so threads on different CPUs allocate and retire without touching a
// shared line. Shared lines are touched once per batch of kBatch elements, not per element: fresh
// elements come from one atomic bump index kBatch at a time, a cache advances the epoch after
// kBatch retires (so by the time its free list runs low, the batches before the last one are
// reusable), and reads the other slots' announcements only when it refills its free list from its
// limbo. Only when the pool runs low does an allocation look at every cache (the slow path, with
// the reserve rule below).
#pragma once

#include <atomic>
#include <cstdint>

#include "maps/run_domain.hpp"
#include "maps/spin_lock.hpp"

namespace bpfbox::maps {

// The first bytes of every pooled element; the map's own fields follow.
struct PoolLink {
  uint64_t retire_tag;
  uint32_t next;  // free or limbo list
  uint32_t reserved;
};

// One CPU slot's lists, in the arena.
struct alignas(64) PoolCache {
  SpinLock lock;
  uint32_t free_head;
  uint32_t n_free;  // on the free list
  uint32_t limbo_head;
  uint32_t limbo_tail;
  // Limbo is closed batches (head .. closed_tail, all tagged <= closed_tag, moved to the free list
  // in one splice) then the open batch (n_open elements retired since the last advance).
  uint32_t closed_tail;
  uint32_t n_closed;
  uint32_t n_open;
  uint64_t closed_tag;
};

// Lives in the arena.
struct PoolHeader {
  uint32_t capacity;
  uint32_t elem_size;
  std::atomic<uint32_t> bump;    // elements [bump, capacity) were never used (pages untouched)
  std::atomic<uint32_t> scarce;  // set while only the reserve is left: everyone takes the slow path
  uint32_t n_caches;
  uint32_t reserved;
  uint64_t caches_off;  // arena offset of the n_caches PoolCaches
  uint64_t elems_off;   // arena offset of element 1
};

class ElemPool {
 public:
  ElemPool() = default;
  ElemPool(uint8_t* arena_base, PoolHeader* header, RunDomain* domain)
      : h_(header),
        elems_(arena_base + header->elems_off),
        caches_(reinterpret_cast<PoolCache*>(arena_base + header->caches_off)),
        domain_(domain),
        elem_size_(header->elem_size) {}

  // Lays out a pool of `capacity` elements of `elem_size` bytes, with `n_caches` per-CPU caches
  // (nr_possible_cpus), in the `bytes()` that start at arena offset `off` (64-aligned).
  static void init(PoolHeader* h, uint32_t capacity, uint32_t elem_size, uint32_t n_caches,
                   uint64_t off);
  static uint64_t bytes(uint32_t capacity, uint32_t elem_size, uint32_t n_caches) {
    return caches_bytes(n_caches) + uint64_t(capacity) * elem_size;
  }

  uint8_t* elem(uint32_t idx) const { return elems_ + uint64_t(idx - 1) * elem_size_; }
  uint32_t index_of(const void* e) const {
    return static_cast<uint32_t>((static_cast<const uint8_t*>(e) - elems_) / elem_size_) + 1;
  }

  // An element, or 0. A reserve is kept for the oldest active run: the last kCacheFloor free
  // elements of each CPU's list and the last fresh_reserve() never-used ones. Nobody else takes
  // them (the fast path stops at the floor); whoever finds only the reserve left first waits for
  // older runs to end (user space: any run; a run: those older than itself, which hold back
  // reclamation) so retired elements come back. The oldest run never waits, so runs cannot wait
  // for each other in a cycle, and it can always allocate unless it took the whole reserve
  // itself. run_cpu: the run's slot, or -1.
  uint32_t alloc(int32_t run_cpu);
  static constexpr uint32_t kCacheFloor = 16;
  static constexpr uint32_t kBatch = 32;
  uint32_t fresh_reserve() const { return h_->n_caches * kCacheFloor; }
  uint32_t reserve() const { return h_->n_caches * kCacheFloor + fresh_reserve(); }
  void free_unused(uint32_t idx);  // never made visible to readers
  void retire(uint32_t idx);       // unlinked; readers may still hold it

 private:
  static uint64_t caches_bytes(uint32_t n_caches) { return uint64_t(n_caches) * sizeof(PoolCache); }
  PoolCache& cache_for(int32_t run_cpu) const;
  uint32_t pop_locked(PoolCache& c, uint32_t floor) const;
  bool reclaim_locked(PoolCache& c, uint64_t below) const;
  uint32_t fresh(uint32_t keep);
  uint32_t refill_fresh(PoolCache& c);
  uint32_t steal(PoolCache& home);
  uint32_t take(PoolCache& home, bool reserve_too);
  uint32_t alloc_slow(int32_t run_cpu, PoolCache& home);

  PoolHeader* h_ = nullptr;
  uint8_t* elems_ = nullptr;
  PoolCache* caches_ = nullptr;
  RunDomain* domain_ = nullptr;
  uint32_t elem_size_ = 0;  // the header's, fixed at init: read here, not from the shared line
};

}  // namespace bpfbox::maps
