#include "maps/elem_pool.hpp"

namespace bpfbox::maps {

static PoolLink* link(uint8_t* e) {
  return reinterpret_cast<PoolLink*>(e);
}

void ElemPool::init(PoolHeader* h, uint32_t capacity, uint32_t elem_size, uint64_t elems_off) {
  h->capacity = capacity;
  h->elem_size = elem_size;
  h->bump = 0;
  h->free_head = h->limbo_head = h->limbo_tail = h->n_free = 0;
  h->elems_off = elems_off;
}

void ElemPool::reclaim_locked() {
  if (!h_->limbo_head) return;
  uint64_t below = domain_->reusable_below();
  while (h_->limbo_head && link(elem(h_->limbo_head))->retire_tag < below) {
    uint32_t idx = h_->limbo_head;
    h_->limbo_head = link(elem(idx))->next;
    link(elem(idx))->next = h_->free_head;
    h_->free_head = idx;
    ++h_->n_free;
  }
  if (!h_->limbo_head) h_->limbo_tail = 0;
}

uint32_t ElemPool::pop_locked() {
  if (uint32_t idx = h_->free_head) {
    h_->free_head = link(elem(idx))->next;
    --h_->n_free;
    return idx;
  }
  if (h_->bump < h_->capacity) return ++h_->bump;
  return 0;
}

uint32_t ElemPool::alloc(int32_t run_cpu) {
  if (run_cpu < 0) run_cpu = RunDomain::current_slot();  // a syscall-side call inside a run
  for (;;) {
    uint64_t wait_for;
    {
      SpinGuard g(h_->lock);
      reclaim_locked();  // reuse before touching new pages
      uint32_t left = h_->n_free + (h_->capacity - h_->bump);
      bool oldest = run_cpu >= 0 && domain_->slot_epoch(static_cast<uint32_t>(run_cpu)) <=
                                        domain_->reusable_below();
      if (left > reserve() || oldest || !h_->limbo_head) return pop_locked();
      wait_for = link(elem(h_->limbo_head))->retire_tag;
      if (run_cpu >= 0 && wait_for >= domain_->slot_epoch(static_cast<uint32_t>(run_cpu)))
        return pop_locked();  // all retired during this run: nothing to wait for
    }
    domain_->synchronize(wait_for);
  }
}

void ElemPool::free_unused(uint32_t idx) {
  SpinGuard g(h_->lock);
  link(elem(idx))->next = h_->free_head;
  h_->free_head = idx;
  ++h_->n_free;
}

void ElemPool::retire(uint32_t idx) {
  SpinGuard g(h_->lock);
  PoolLink* l = link(elem(idx));
  l->retire_tag = domain_->retire();  // under the lock, so limbo stays in tag order
  l->next = 0;
  if (h_->limbo_tail) {
    link(elem(h_->limbo_tail))->next = idx;
  } else {
    h_->limbo_head = idx;
  }
  h_->limbo_tail = idx;
}

}  // namespace bpfbox::maps
