// The LRU lists of LRU_HASH and LRU_PERCPU_HASH (the kernel's bpf_lru_list.c): one list for the
// map, or one per CPU with BPF_F_NO_COMMON_LRU, each with a capacity. Lookups only set a
// reference bit (no lock, no write when already set).
//
// * The common list (simplified): second chance, like the kernel's approximation: from the
//   oldest end, referenced nodes get their bit cleared and move to the front, the first
//   unreferenced one is evicted.
// * Per-CPU lists (BPF_F_NO_COMMON_LRU) follow the kernel's algorithm step for step, so eviction
//   picks the same keys: an active and an inactive list; every insert first rotates (the active
//   list's tail when it outnumbers the inactive one, then 4 inactive nodes from a rotating
//   cursor; referenced nodes go to the active head); a list at capacity then shrinks by up to 4
//   unreferenced inactive nodes in one go (PERCPU_FREE_TARGET), or, when every scanned node was
//   referenced, by one node taken regardless (inactive tail, else active tail). New elements enter
//   at the inactive head; a place freed by a delete returns to the list the element came from.
//
// Inserts reserve a place first (reserve()), evicting when the list is at capacity: the evicted
// elements' places pass to the insert (one) and to the list's free places (the rest), so the map
// never exceeds max_entries. The element that ends up unlinked from its bucket is retired by
// whoever unlinks it.
#pragma once

#include <atomic>
#include <cstdint>

#include "maps/elem_pool.hpp"
#include "maps/spin_lock.hpp"

namespace bpfbox::maps {

struct LruNode {
  uint32_t prev;  // toward the head (newer)
  uint32_t next;  // toward the tail (older)
  uint32_t list;
  std::atomic<uint8_t> ref;
  uint8_t type;  // kNone, kInactive (the common list's nodes too), kActive
  uint16_t reserved;
};
static_assert(sizeof(LruNode) == 16);

struct alignas(64) LruListHeader {
  SpinLock lock;
  uint32_t head;   // the inactive list (the common list): most recently inserted
  uint32_t tail;   // eviction candidates
  uint32_t count;  // nodes in the lists plus places reserved by inserts in flight
  uint32_t cap;
  uint32_t active_head;
  uint32_t active_tail;
  uint32_t n_active;
  uint32_t n_inactive;
  uint32_t rotation;  // per-CPU lists: the inactive node the next rotation starts at, 0 = tail
  uint32_t per_cpu;   // the kernel's per-CPU algorithm
};

class LruLists {
 public:
  static constexpr uint32_t kMaxVictims = 4;  // PERCPU_FREE_TARGET
  static constexpr uint8_t kNone = 0, kInactive = 1, kActive = 2;

  LruLists() = default;
  LruLists(LruListHeader* lists, uint32_t n_lists, const ElemPool* pool, uint32_t node_off)
      : lists_(lists), n_lists_(n_lists), pool_(pool), node_off_(node_off) {}

  // per_cpu: BPF_F_NO_COMMON_LRU (max_entries is then a multiple of n_lists, as the kernel
  // rounds it).
  static void init(LruListHeader* lists, uint32_t n_lists, uint32_t max_entries, bool per_cpu);

  LruNode& node(uint32_t idx) const {
    return *reinterpret_cast<LruNode*>(pool_->elem(idx) + node_off_);
  }
  uint32_t list_for(uint32_t cpu) const { return n_lists_ == 1 ? 0 : cpu % n_lists_; }

  static void touch(LruNode& n) {
    if (!n.ref.load(std::memory_order_relaxed)) n.ref.store(1, std::memory_order_relaxed);
  }

  // Reserves a place in `list`. Returns how many elements were taken off the list to make room
  // (0..kMaxVictims, in victims): the caller unlinks each from its bucket (if still linked) and
  // retires it.
  uint32_t reserve(uint32_t list, uint32_t* victims);
  void unreserve(uint32_t list);
  // Adds a linked element at the front, using a reserved place.
  void push(uint32_t list, uint32_t idx);
  // Takes an unlinked element off its list (if still on one), freeing its place.
  void remove(uint32_t idx);

 private:
  // Kernel-side list primitives on one list's active or inactive half (under its lock).
  void unlink_locked(LruListHeader& l, uint32_t idx);
  void push_locked(LruListHeader& l, uint32_t list, uint32_t idx, uint8_t type);
  void move_locked(LruListHeader& l, uint32_t list, uint32_t idx, uint8_t type);
  uint32_t newer(const LruListHeader& l, uint32_t idx) const;  // 0 (the head sentinel) -> tail
  void rotate_locked(LruListHeader& l, uint32_t list);
  uint32_t shrink_locked(LruListHeader& l, uint32_t list, uint32_t* victims);
  uint32_t second_chance_locked(LruListHeader& l, uint32_t list, uint32_t* victims);

  LruListHeader* lists_ = nullptr;
  uint32_t n_lists_ = 0;
  const ElemPool* pool_ = nullptr;
  uint32_t node_off_ = 0;
};

}  // namespace bpfbox::maps
