#include "maps/elem_pool.hpp"

namespace bpfbox::maps {

static PoolLink* link(uint8_t* e) {
  return reinterpret_cast<PoolLink*>(e);
}

void ElemPool::init(PoolHeader* h, uint32_t capacity, uint32_t elem_size, uint64_t elems_off) {
  h->capacity = capacity;
  h->elem_size = elem_size;
  h->bump = 0;
  h->free_head = h->limbo_head = h->limbo_tail = 0;
  h->elems_off = elems_off;
}

uint32_t ElemPool::pop_locked() {
  if (uint32_t idx = h_->free_head) {
    h_->free_head = link(elem(idx))->next;
    return idx;
  }
  // Reuse what no active run can still see before touching new pages.
  if (h_->limbo_head) {
    uint64_t below = domain_->reusable_below();
    while (h_->limbo_head && link(elem(h_->limbo_head))->retire_tag < below) {
      uint32_t idx = h_->limbo_head;
      h_->limbo_head = link(elem(idx))->next;
      link(elem(idx))->next = h_->free_head;
      h_->free_head = idx;
    }
    if (!h_->limbo_head) h_->limbo_tail = 0;
    if (uint32_t idx = h_->free_head) {
      h_->free_head = link(elem(idx))->next;
      return idx;
    }
  }
  if (h_->bump < h_->capacity) return ++h_->bump;
  return 0;
}

uint32_t ElemPool::alloc(bool may_wait) {
  for (;;) {
    uint64_t wait_for;
    {
      SpinGuard g(h_->lock);
      if (uint32_t idx = pop_locked()) return idx;
      if (!may_wait || !h_->limbo_head) return 0;
      wait_for = link(elem(h_->limbo_head))->retire_tag;
    }
    domain_->synchronize(wait_for);
  }
}

void ElemPool::free_unused(uint32_t idx) {
  SpinGuard g(h_->lock);
  link(elem(idx))->next = h_->free_head;
  h_->free_head = idx;
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
