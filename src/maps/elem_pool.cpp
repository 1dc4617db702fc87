#include "maps/elem_pool.hpp"

#include <sched.h>

namespace bpfbox::maps {

static PoolLink* link(uint8_t* e) {
  return reinterpret_cast<PoolLink*>(e);
}

void ElemPool::init(PoolHeader* h, uint32_t capacity, uint32_t elem_size, uint32_t n_caches,
                    uint64_t off) {
  h->capacity = capacity;
  h->elem_size = elem_size;
  h->bump.store(0, std::memory_order_relaxed);
  h->scarce.store(0, std::memory_order_relaxed);
  h->n_caches = n_caches ? n_caches : 1;
  h->caches_off = off;
  h->elems_off = off + caches_bytes(h->n_caches);
}

// A run's cache is its slot's; user space uses the CPU it runs on (no two runs share a slot, and
// threads on one CPU rarely contend).
PoolCache& ElemPool::cache_for(int32_t run_cpu) const {
  if (run_cpu < 0) run_cpu = RunDomain::current_slot();
  if (run_cpu < 0) run_cpu = sched_getcpu();
  return caches_[static_cast<uint32_t>(run_cpu < 0 ? 0 : run_cpu) % h_->n_caches];
}

// The head of c's free list, unless only `floor` elements are left on it.
uint32_t ElemPool::pop_locked(PoolCache& c, uint32_t floor) const {
  uint32_t idx = c.n_free > floor ? c.free_head : 0;
  if (idx) {
    c.free_head = link(elem(idx))->next;
    --c.n_free;
  }
  return idx;
}

// Moves the limbo elements no run can hold any more to the free list: the closed batches in one
// splice when they all may be reused (no walk over elements), else one by one from the head.
bool ElemPool::reclaim_locked(PoolCache& c, uint64_t below) const {
  if (c.closed_tail && c.closed_tag < below) {
    uint32_t rest = link(elem(c.closed_tail))->next;
    link(elem(c.closed_tail))->next = c.free_head;
    c.free_head = c.limbo_head;
    c.n_free += c.n_closed;
    c.limbo_head = rest;
    if (!rest) c.limbo_tail = 0;
    c.closed_tail = 0;
    c.n_closed = 0;
    return true;
  }
  bool moved = false;
  while (c.limbo_head && link(elem(c.limbo_head))->retire_tag < below) {
    uint32_t idx = c.limbo_head;
    c.limbo_head = link(elem(idx))->next;
    link(elem(idx))->next = c.free_head;
    c.free_head = idx;
    ++c.n_free;
    moved = true;
    if (c.closed_tail) {
      --c.n_closed;
      if (idx == c.closed_tail) c.closed_tail = 0;
    } else {
      --c.n_open;
    }
  }
  if (!c.limbo_head) c.limbo_tail = 0;
  return moved;
}

// A never-used element, unless only `keep` are left.
uint32_t ElemPool::fresh(uint32_t keep) {
  const uint32_t limit = h_->capacity - std::min(keep, h_->capacity);
  uint32_t b = h_->bump.load(std::memory_order_relaxed);
  while (b < limit) {
    if (h_->bump.compare_exchange_weak(b, b + 1, std::memory_order_relaxed)) return b + 1;
  }
  return 0;
}

// Up to kBatch never-used elements (above the fresh reserve) for c: one returned, the rest on c's
// free list. One atomic on the shared bump index per batch.
uint32_t ElemPool::refill_fresh(PoolCache& c) {
  const uint32_t limit = h_->capacity - std::min(fresh_reserve(), h_->capacity);
  uint32_t b = h_->bump.load(std::memory_order_relaxed);
  uint32_t n = 0;
  while (b < limit) {
    n = std::min(kBatch, limit - b);
    if (h_->bump.compare_exchange_weak(b, b + n, std::memory_order_relaxed)) break;
    n = 0;
  }
  if (!n) return 0;
  for (uint32_t idx = b + 2; idx <= b + n; ++idx) {  // b + 1 is the caller's
    link(elem(idx))->next = c.free_head;
    c.free_head = idx;
    ++c.n_free;
  }
  return b + 1;
}

// The fast path takes nothing from the reserve: a CPU's list down to its floor (refilled from its
// limbo once the epoch has moved past its head, else with fresh elements), then fresh elements
// down to theirs. (Taking the reserve here let runs drain it while the oldest run was preempted;
// the oldest then found nothing at all.)
uint32_t ElemPool::alloc(int32_t run_cpu) {
  if (run_cpu < 0) run_cpu = RunDomain::current_slot();  // a syscall-side call inside a run
  PoolCache& home = cache_for(run_cpu);
  if (!h_->scarce.load(std::memory_order_relaxed)) {
    SpinGuard g(home.lock);
    if (uint32_t idx = pop_locked(home, kCacheFloor)) return idx;
    // Reading every slot's announcement is worth it only if the epoch has moved on.
    if (home.closed_tail && home.closed_tag < domain_->epoch() &&
        reclaim_locked(home, domain_->reusable_below()))
      if (uint32_t idx = pop_locked(home, kCacheFloor)) return idx;
    if (uint32_t idx = refill_fresh(home)) return idx;
  }
  if (!h_->scarce.load(std::memory_order_relaxed))
    if (uint32_t idx = steal(home)) return idx;
  return alloc_slow(run_cpu, home);
}

// Up to kBatch free elements of another cache above its floor (a cache that allocated much and
// retired little, or user space on another CPU, holds them): one returned, the rest on home's
// list. The two locks are never held together.
uint32_t ElemPool::steal(PoolCache& home) {
  const uint32_t me = static_cast<uint32_t>(&home - caches_);
  for (uint32_t k = 1; k < h_->n_caches; ++k) {
    PoolCache& c = caches_[(me + k) % h_->n_caches];
    uint32_t first = 0, last = 0, n = 0;
    {
      SpinGuard g(c.lock);
      while (n < kBatch) {
        uint32_t idx = pop_locked(c, kCacheFloor);
        if (!idx) break;
        link(elem(idx))->next = first;
        if (!first) last = idx;
        first = idx;
        ++n;
      }
    }
    if (!n) continue;
    uint32_t idx = first;
    if (n > 1) {
      SpinGuard g(home.lock);
      link(elem(last))->next = home.free_head;
      home.free_head = link(elem(first))->next;
      home.n_free += n - 1;
    }
    return idx;
  }
  return 0;
}

// A free element: this CPU's list, fresh elements, other CPUs' lists; with reserve_too, down to
// the last one, else above the floors only.
uint32_t ElemPool::take(PoolCache& home, bool reserve_too) {
  const uint32_t floor = reserve_too ? 0 : kCacheFloor;
  {
    SpinGuard g(home.lock);
    if (uint32_t idx = pop_locked(home, floor)) return idx;
  }
  if (uint32_t idx = fresh(reserve_too ? 0 : fresh_reserve())) return idx;
  for (uint32_t i = 0; i < h_->n_caches; ++i) {
    SpinGuard g(caches_[i].lock);
    if (uint32_t idx = pop_locked(caches_[i], floor)) return idx;
  }
  return 0;
}

uint32_t ElemPool::alloc_slow(int32_t run_cpu, PoolCache& home) {
  for (;;) {
    uint64_t below = domain_->reusable_below();
    uint64_t left = h_->capacity - std::min(h_->capacity, h_->bump.load(std::memory_order_relaxed));
    uint64_t wait_for = UINT64_MAX;  // the oldest tag in limbo
    uint64_t newest = 0;
    for (uint32_t i = 0; i < h_->n_caches; ++i) {
      PoolCache& c = caches_[i];
      SpinGuard g(c.lock);
      reclaim_locked(c, below);
      left += c.n_free;
      if (c.limbo_head) {
        wait_for = std::min(wait_for, link(elem(c.limbo_head))->retire_tag);
        newest = std::max(newest, link(elem(c.limbo_tail))->retire_tag);
      }
    }
    // More than the reserve can hold: something is free outside it.
    if (left > reserve()) {
      if (h_->scarce.load(std::memory_order_relaxed))
        h_->scarce.store(0, std::memory_order_relaxed);
      if (uint32_t idx = take(home, /*reserve_too=*/false)) return idx;
      continue;  // taken meanwhile by others
    }
    if (!h_->scarce.load(std::memory_order_relaxed)) h_->scarce.store(1, std::memory_order_relaxed);
    // Runs starting from now are newer than all of limbo, so they can wait for it rather than
    // take the reserve (tags are epochs read lazily: a run announcing the same epoch as the
    // oldest counts as oldest).
    if (newest) domain_->advance_past(newest);
    bool oldest = run_cpu >= 0 && domain_->slot_epoch(static_cast<uint32_t>(run_cpu)) <= below;
    if (oldest || wait_for == UINT64_MAX) return take(home, /*reserve_too=*/true);
    if (run_cpu >= 0 && wait_for >= domain_->slot_epoch(static_cast<uint32_t>(run_cpu)))
      return take(home, /*reserve_too=*/true);  // all retired during this run: nothing to wait for
    domain_->synchronize(wait_for);
  }
}

void ElemPool::free_unused(uint32_t idx) {
  PoolCache& c = cache_for(-1);
  SpinGuard g(c.lock);
  link(elem(idx))->next = c.free_head;
  c.free_head = idx;
  ++c.n_free;
}

void ElemPool::retire(uint32_t idx) {
  PoolCache& c = cache_for(-1);
  SpinGuard g(c.lock);
  PoolLink* l = link(elem(idx));
  // The current epoch, advanced once per kBatch retires of this cache, not per retire: advancing
  // it at every retire made every update write a line each run start reads. A batch left open
  // is advanced past by whoever needs it (the slow path). Under the lock, so the cache's limbo
  // stays in order.
  l->retire_tag = domain_->retire_tag();
  l->next = 0;
  if (c.limbo_tail) {
    link(elem(c.limbo_tail))->next = idx;
  } else {
    c.limbo_head = idx;
  }
  c.limbo_tail = idx;
  if (++c.n_open >= kBatch) {  // close the batch
    domain_->advance_past(l->retire_tag);
    c.closed_tail = idx;
    c.closed_tag = l->retire_tag;
    c.n_closed += c.n_open;
    c.n_open = 0;
  }
}

}  // namespace bpfbox::maps
