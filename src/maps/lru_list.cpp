#include "maps/lru_list.hpp"

#include <sched.h>

namespace bpfbox::maps {

void LruLists::init(LruListHeader* lists, uint32_t n_lists, uint32_t max_entries) {
  for (uint32_t i = 0; i < n_lists; ++i) {
    auto* l = new (&lists[i]) LruListHeader();
    // Per-CPU lists share max_entries evenly, as the kernel spreads its preallocated nodes.
    l->cap = n_lists == 1 ? max_entries : (max_entries + n_lists - 1) / n_lists;
  }
}

void LruLists::unlink_locked(LruListHeader& l, uint32_t idx) {
  LruNode& n = node(idx);
  if (n.prev) {
    node(n.prev).next = n.next;
  } else {
    l.head = n.next;
  }
  if (n.next) {
    node(n.next).prev = n.prev;
  } else {
    l.tail = n.prev;
  }
  n.prev = n.next = 0;
  n.in_list = 0;
}

void LruLists::push_locked(LruListHeader& l, uint32_t list, uint32_t idx) {
  LruNode& n = node(idx);
  n.prev = 0;
  n.next = l.head;
  n.list = list;
  n.in_list = 1;
  if (l.head) node(l.head).prev = idx;
  l.head = idx;
  if (!l.tail) l.tail = idx;
}

uint32_t LruLists::reserve(uint32_t list) {
  LruListHeader& l = lists_[list];
  for (;;) {
    {
      SpinGuard g(l.lock);
      if (l.count < l.cap) {
        ++l.count;
        return 0;
      }
      // Second chance: referenced nodes go back to the front once.
      for (uint32_t scanned = 0; l.tail && scanned < l.count; ++scanned) {
        uint32_t victim = l.tail;
        LruNode& n = node(victim);
        if (n.ref.load(std::memory_order_relaxed)) {
          n.ref.store(0, std::memory_order_relaxed);
          unlink_locked(l, victim);
          push_locked(l, list, victim);
          continue;
        }
        unlink_locked(l, victim);
        return victim;  // its place is ours now
      }
      if (l.tail) {
        uint32_t victim = l.tail;
        unlink_locked(l, victim);
        return victim;
      }
    }
    sched_yield();  // every place is reserved by inserts in flight
  }
}

void LruLists::unreserve(uint32_t list) {
  LruListHeader& l = lists_[list];
  SpinGuard g(l.lock);
  --l.count;
}

void LruLists::push(uint32_t list, uint32_t idx) {
  LruListHeader& l = lists_[list];
  SpinGuard g(l.lock);
  node(idx).ref.store(0, std::memory_order_relaxed);
  push_locked(l, list, idx);
}

void LruLists::remove(uint32_t idx) {
  LruNode& n = node(idx);
  LruListHeader& l = lists_[n.list];
  SpinGuard g(l.lock);
  if (!n.in_list) return;  // an evictor took it and its place
  unlink_locked(l, idx);
  --l.count;
}

}  // namespace bpfbox::maps
