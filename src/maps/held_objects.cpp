#include "maps/held_objects.hpp"

#include "maps/run_domain.hpp"

namespace bpfbox::maps {

HeldObjects::HeldObjects(ObjectTable* objects, uint32_t n_slots, std::atomic<uint32_t>* ids,
                         bool allocates)
    : objects_(objects),
      domain_(&RunDomain::process()),
      n_slots_(n_slots),
      allocates_(allocates),
      ids_(ids),
      ptrs_(new std::atomic<void*>[n_slots]),
      refs_(n_slots) {
  for (uint32_t i = 0; i < n_slots; ++i) ptrs_[i].store(nullptr, std::memory_order_relaxed);
  if (!allocates) return;
  free_.reserve(n_slots);
  for (uint32_t i = n_slots; i-- > 0;) {
    if (!ids_[i].load(std::memory_order_acquire)) free_.push_back(i);  // attached: in use
  }
}

void HeldObjects::adopt_ids(ObjectKind kind) {
  if (!objects_) return;
  std::lock_guard g(mu);
  for (uint32_t i = 0; i < n_slots_; ++i) {
    uint32_t id = ids_[i].load(std::memory_order_acquire);
    if (!id || ptrs_[i].load(std::memory_order_relaxed)) continue;
    auto ref = objects_->ref_id(kind, id);
    if (!ref) continue;
    refs_[i] = *ref;
    ptrs_[i].store(program_pointer(*ref), std::memory_order_release);
  }
}

HeldObjects::~HeldObjects() {
  std::lock_guard g(mu);
  drain(false);
  for (uint32_t i = 0; i < n_slots_; ++i) {
    if (!ptrs_[i].exchange(nullptr, std::memory_order_acq_rel)) continue;
    retired_.push_back({domain_->retire(), refs_[i], UINT32_MAX});
    refs_[i] = ObjectRef{};
  }
  // Inside a run (a helper dropping the last reference) waiting would wait for ourselves: the
  // objects are then dropped at once, as nothing can reach this map any more.
  drain(/*wait=*/RunDomain::current_slot() < 0);
  for (const Retired& r : retired_) objects_->unref(r.ref);
}

void* HeldObjects::program_pointer(const ObjectRef& ref) {
  switch (ref.kind) {
    case ObjectKind::Prog:
      return const_cast<vm::Executable*>(ref.exec);
    case ObjectKind::Map:
      return ref.map;
    case ObjectKind::PerfEvent:
      return ref.perf;
  }
  return nullptr;
}

bool HeldObjects::put(uint32_t slot, const ObjectRef* ref) {
  drain(false);
  ObjectRef old = refs_[slot];
  void* fresh = ref ? program_pointer(*ref) : nullptr;
  refs_[slot] = ref ? *ref : ObjectRef{};
  ids_[slot].store(ref ? ref->id : 0, std::memory_order_release);
  void* prev = ptrs_[slot].exchange(fresh, std::memory_order_acq_rel);
  if (!prev) return false;
  retired_.push_back({domain_->retire(), old, allocates_ && !ref ? slot : UINT32_MAX});
  return true;
}

void HeldObjects::discard(uint32_t slot) {
  ObjectRef old = refs_[slot];
  refs_[slot] = ObjectRef{};
  ids_[slot].store(0, std::memory_order_release);
  ptrs_[slot].store(nullptr, std::memory_order_release);
  if (allocates_) free_.push_back(slot);
  objects_->unref(old);
}

uint32_t HeldObjects::alloc_slot() {
  drain(false);
  if (free_.empty() && !retired_.empty() && RunDomain::current_slot() < 0) drain(true);
  if (free_.empty()) return UINT32_MAX;
  uint32_t slot = free_.back();
  free_.pop_back();
  return slot;
}

void HeldObjects::drain(bool wait) {
  if (retired_.empty()) return;
  RunDomain& domain = *domain_;
  if (wait) domain.synchronize(retired_.back().tag);
  uint64_t below = domain.reusable_below();
  size_t n = 0;
  while (n < retired_.size() && retired_[n].tag < below) {
    const Retired& r = retired_[n];
    objects_->unref(r.ref);
    if (r.slot != UINT32_MAX) free_.push_back(r.slot);
    ++n;
  }
  retired_.erase(retired_.begin(), retired_.begin() + static_cast<std::ptrdiff_t>(n));
}

}  // namespace bpfbox::maps
