// The LRU lists of LRU_HASH and LRU_PERCPU_HASH (the kernel's bpf_lru_list.c, simplified): one
// list for the map, or one per CPU with BPF_F_NO_COMMON_LRU, each with a capacity. Lookups only set
// a reference bit (no lock, no write when already set); eviction is second chance, like the
// kernel's approximation: from the oldest end, referenced nodes get their bit cleared and move to
// the front, the first unreferenced one is evicted.
//
// Inserts reserve a place first (reserve()), evicting when the list is at capacity: the evicted
// element's place passes to the insert, so the map never exceeds max_entries. The element that
// ends up unlinked from its bucket is retired by whoever unlinks it.
#pragma once

#include <atomic>
#include <cstdint>

#include "maps/elem_pool.hpp"
#include "maps/spin_lock.hpp"

namespace bpfbox::maps {

struct LruNode {
  uint32_t prev;
  uint32_t next;
  uint32_t list;
  std::atomic<uint8_t> ref;
  uint8_t in_list;
  uint16_t reserved;
};
static_assert(sizeof(LruNode) == 16);

struct alignas(64) LruListHeader {
  SpinLock lock;
  uint32_t head;   // most recently inserted
  uint32_t tail;   // eviction candidates
  uint32_t count;  // nodes in the list plus places reserved by inserts in flight
  uint32_t cap;
};

class LruLists {
 public:
  LruLists() = default;
  LruLists(LruListHeader* lists, uint32_t n_lists, const ElemPool* pool, uint32_t node_off)
      : lists_(lists), n_lists_(n_lists), pool_(pool), node_off_(node_off) {}

  static void init(LruListHeader* lists, uint32_t n_lists, uint32_t max_entries);

  LruNode& node(uint32_t idx) const {
    return *reinterpret_cast<LruNode*>(pool_->elem(idx) + node_off_);
  }
  uint32_t list_for(uint32_t cpu) const { return n_lists_ == 1 ? 0 : cpu % n_lists_; }

  static void touch(LruNode& n) {
    if (!n.ref.load(std::memory_order_relaxed)) n.ref.store(1, std::memory_order_relaxed);
  }

  // Reserves a place in `list`. Returns 0, or an element taken off the list to make room: the
  // caller unlinks it from its bucket (if still linked) and retires it.
  uint32_t reserve(uint32_t list);
  void unreserve(uint32_t list);
  // Adds a linked element at the front, using a reserved place.
  void push(uint32_t list, uint32_t idx);
  // Takes an unlinked element off its list (if still on one), freeing its place.
  void remove(uint32_t idx);

 private:
  void unlink_locked(LruListHeader& l, uint32_t idx);
  void push_locked(LruListHeader& l, uint32_t list, uint32_t idx);
  LruListHeader* lists_ = nullptr;
  uint32_t n_lists_ = 0;
  const ElemPool* pool_ = nullptr;
  uint32_t node_off_ = 0;
};

}  // namespace bpfbox::maps
