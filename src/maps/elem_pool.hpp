// Fixed-size elements in an arena, handed out by index (1-based; 0 is "none"), for maps whose
// elements come and go (hash, LRU, LPM trie). An element that was visible to lock-free readers is
// retired, not freed: it waits in a FIFO "limbo" list tagged with the RunDomain epoch and is reused
// only when no run that could have seen it is still active. Never-published elements go straight
// back to the free list.
#pragma once

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

// Lives in the arena.
struct PoolHeader {
  SpinLock lock;
  uint32_t capacity;
  uint32_t elem_size;
  uint32_t bump;  // elements [bump, capacity) were never used (their pages untouched)
  uint32_t free_head;
  uint32_t limbo_head;
  uint32_t limbo_tail;
  uint32_t n_free;     // on the free list
  uint64_t elems_off;  // arena offset of element 1
};

class ElemPool {
 public:
  ElemPool() = default;
  ElemPool(uint8_t* arena_base, PoolHeader* header, RunDomain* domain)
      : h_(header), elems_(arena_base + header->elems_off), domain_(domain) {}

  // Lays out a pool of `capacity` elements of `elem_size` bytes at `elems_off`.
  static void init(PoolHeader* h, uint32_t capacity, uint32_t elem_size, uint64_t elems_off);
  static uint64_t bytes(uint32_t capacity, uint32_t elem_size) {
    return uint64_t(capacity) * elem_size;
  }

  uint8_t* elem(uint32_t idx) const { return elems_ + uint64_t(idx - 1) * h_->elem_size; }
  uint32_t index_of(const void* e) const {
    return static_cast<uint32_t>((static_cast<const uint8_t*>(e) - elems_) / h_->elem_size) + 1;
  }

  // An element, or 0. The last reserve() elements are kept for the oldest active run: anyone else
  // who finds only those left first waits for older runs to end (user space: any run; a run:
  // those older than itself, which hold back reclamation) so retired elements come back. The
  // oldest run never waits, so runs cannot wait for each other in a cycle, and it can always
  // allocate unless it retired more than the reserve itself.
  uint32_t alloc(int32_t run_cpu);
  uint32_t reserve() const { return domain_->nr_slots() * 16; }
  void free_unused(uint32_t idx);  // never made visible to readers
  void retire(uint32_t idx);       // unlinked; readers may still hold it

 private:
  uint32_t pop_locked();
  void reclaim_locked();
  PoolHeader* h_ = nullptr;
  uint8_t* elems_ = nullptr;
  RunDomain* domain_ = nullptr;
};

}  // namespace bpfbox::maps
