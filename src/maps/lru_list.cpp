#include "maps/lru_list.hpp"

#include <sched.h>

namespace bpfbox::maps {

namespace {
constexpr uint32_t kPercpuScans = 4;  // PERCPU_NR_SCANS
}  // namespace

void LruLists::init(LruListHeader* lists, uint32_t n_lists, uint32_t max_entries, bool per_cpu) {
  for (uint32_t i = 0; i < n_lists; ++i) {
    auto* l = new (&lists[i]) LruListHeader();
    // Per-CPU lists share max_entries evenly, as the kernel spreads its preallocated nodes.
    l->cap = n_lists == 1 ? max_entries : (max_entries + n_lists - 1) / n_lists;
    l->per_cpu = per_cpu;
  }
}

void LruLists::unlink_locked(LruListHeader& l, uint32_t idx) {
  LruNode& n = node(idx);
  bool active = n.type == kActive;
  uint32_t& head = active ? l.active_head : l.head;
  uint32_t& tail = active ? l.active_tail : l.tail;
  if (n.prev) {
    node(n.prev).next = n.next;
  } else {
    head = n.next;
  }
  if (n.next) {
    node(n.next).prev = n.prev;
  } else {
    tail = n.prev;
  }
  --(active ? l.n_active : l.n_inactive);
  n.prev = n.next = 0;
  n.type = kNone;
}

void LruLists::push_locked(LruListHeader& l, uint32_t list, uint32_t idx, uint8_t type) {
  LruNode& n = node(idx);
  bool active = type == kActive;
  uint32_t& head = active ? l.active_head : l.head;
  uint32_t& tail = active ? l.active_tail : l.tail;
  n.prev = 0;
  n.next = head;
  n.list = list;
  n.type = type;
  if (head) node(head).prev = idx;
  head = idx;
  if (!tail) tail = idx;
  ++(active ? l.n_active : l.n_inactive);
}

// The kernel's sentinel walk: 0 stands for the inactive list's head, whose newer neighbour is the
// tail (the list is circular there).
uint32_t LruLists::newer(const LruListHeader& l, uint32_t idx) const {
  return idx ? node(idx).prev : l.tail;
}

// __bpf_lru_node_move: to the head of `type`, reference cleared; the rotation cursor steps to
// the next newer node if it pointed here.
void LruLists::move_locked(LruListHeader& l, uint32_t list, uint32_t idx, uint8_t type) {
  node(idx).ref.store(0, std::memory_order_relaxed);
  if (idx == l.rotation) l.rotation = node(idx).prev;
  unlink_locked(l, idx);
  push_locked(l, list, idx, type);
}

// __bpf_lru_list_rotate.
void LruLists::rotate_locked(LruListHeader& l, uint32_t list) {
  if (l.n_inactive < l.n_active) {  // the active tail: referenced nodes stay, others go inactive
    uint32_t first = l.active_head;
    uint32_t i = 0;
    for (uint32_t idx = l.active_tail; idx;) {
      uint32_t next = node(idx).prev;
      move_locked(l, list, idx,
                  node(idx).ref.load(std::memory_order_relaxed) ? kActive : kInactive);
      if (++i == kPercpuScans || idx == first) break;
      idx = next;
    }
  }
  if (!l.n_inactive) return;
  // The inactive list from the cursor toward the head, wrapping to the tail: referenced nodes
  // become active.
  uint32_t last = l.rotation ? node(l.rotation).next : l.head;
  if (!last) last = l.head;
  uint32_t cur = l.rotation, next = 0;
  for (uint32_t i = 0; i < kPercpuScans;) {
    if (!cur) {
      cur = l.tail;
      continue;
    }
    next = newer(l, cur);
    if (node(cur).ref.load(std::memory_order_relaxed)) move_locked(l, list, cur, kActive);
    if (cur == last) break;
    cur = next;
    ++i;
  }
  l.rotation = next;
}

// __bpf_lru_list_shrink with PERCPU_FREE_TARGET: up to 4 unreferenced nodes from the inactive
// tail (4 scanned at most), else one node regardless of its bit.
uint32_t LruLists::shrink_locked(LruListHeader& l, uint32_t list, uint32_t* victims) {
  uint32_t n = 0, i = 0;
  for (uint32_t idx = l.tail; idx;) {
    uint32_t next = node(idx).prev;
    if (node(idx).ref.load(std::memory_order_relaxed)) {
      move_locked(l, list, idx, kActive);
    } else {
      if (idx == l.rotation) l.rotation = node(idx).prev;
      unlink_locked(l, idx);
      victims[n++] = idx;
      if (n == kMaxVictims) break;
    }
    if (++i == kPercpuScans) break;
    idx = next;
  }
  if (n) return n;
  uint32_t forced = l.tail ? l.tail : l.active_tail;
  if (!forced) return 0;
  if (forced == l.rotation) l.rotation = node(forced).prev;
  unlink_locked(l, forced);
  victims[0] = forced;
  return 1;
}

// The common list: second chance from the tail.
uint32_t LruLists::second_chance_locked(LruListHeader& l, uint32_t list, uint32_t* victims) {
  for (uint32_t scanned = 0; l.tail && scanned < l.count; ++scanned) {
    uint32_t victim = l.tail;
    LruNode& n = node(victim);
    if (n.ref.load(std::memory_order_relaxed)) {
      n.ref.store(0, std::memory_order_relaxed);
      unlink_locked(l, victim);
      push_locked(l, list, victim, kInactive);
      continue;
    }
    unlink_locked(l, victim);
    victims[0] = victim;
    return 1;
  }
  if (!l.tail) return 0;
  victims[0] = l.tail;
  unlink_locked(l, l.tail);
  return 1;
}

uint32_t LruLists::reserve(uint32_t list, uint32_t* victims) {
  LruListHeader& l = lists_[list];
  for (;;) {
    {
      SpinGuard g(l.lock);
      if (l.per_cpu) rotate_locked(l, list);
      if (l.count < l.cap) {
        ++l.count;
        return 0;
      }
      uint32_t n =
          l.per_cpu ? shrink_locked(l, list, victims) : second_chance_locked(l, list, victims);
      if (n) {
        l.count -= n - 1;  // one place is ours, the others are free
        return n;
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
  push_locked(l, list, idx, kInactive);
}

void LruLists::remove(uint32_t idx) {
  LruNode& n = node(idx);
  LruListHeader& l = lists_[n.list];
  SpinGuard g(l.lock);
  if (n.type == kNone) return;  // an evictor took it and its place
  if (idx == l.rotation) l.rotation = n.prev;
  unlink_locked(l, idx);
  --l.count;
}

}  // namespace bpfbox::maps
