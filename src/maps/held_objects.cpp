#include "maps/held_objects.hpp"

#include "maps/run_domain.hpp"

namespace bpfbox::maps {

namespace {
// An arena id claimed by alloc_slot for an insert that has not stored its object yet.
constexpr uint32_t kClaimed = UINT32_MAX;
}  // namespace

HeldObjects::HeldObjects(ObjectTable* objects, uint32_t n_slots, std::atomic<uint32_t>* ids,
                         bool allocates, ObjectKind kind)
    : objects_(objects),
      domain_(&RunDomain::process()),
      n_slots_(n_slots),
      allocates_(allocates),
      kind_(kind),
      lazy_(objects != nullptr && kind != ObjectKind::PerfEvent),
      ids_(ids),
      ptrs_(new std::atomic<void*>[n_slots]),
      seen_(new std::atomic<uint32_t>[n_slots]),
      refs_(n_slots) {
  for (uint32_t i = 0; i < n_slots; ++i) {
    ptrs_[i].store(nullptr, std::memory_order_relaxed);
    seen_[i].store(0, std::memory_order_relaxed);
  }
  if (!allocates) return;
  free_.reserve(n_slots);
  for (uint32_t i = n_slots; i-- > 0;) {
    if (!ids_[i].load(std::memory_order_acquire)) free_.push_back(i);  // attached: in use
  }
}

void HeldObjects::adopt_ids() {
  if (!lazy_) return;
  std::lock_guard g(mu);
  for (uint32_t i = 0; i < n_slots_; ++i) {
    uint32_t id = ids_[i].load(std::memory_order_acquire);
    if (!id || id == kClaimed || ptrs_[i].load(std::memory_order_relaxed)) continue;
    auto ref = objects_->ref_id(kind_, id);
    set_locked(i, id, ref ? &*ref : nullptr, UINT32_MAX);
  }
}

HeldObjects::~HeldObjects() {
  std::lock_guard g(mu);
  drain(false);
  for (uint32_t i = 0; i < n_slots_; ++i) {
    if (!ptrs_[i].exchange(nullptr, std::memory_order_acq_rel)) continue;
    retired_.push_back({domain_->retire(), refs_[i], UINT32_MAX, true});
    refs_[i] = ObjectRef{};
  }
  // Inside a run (a helper dropping the last reference) waiting would wait for ourselves: the
  // objects are then dropped at once, as nothing can reach this map any more. Slots this handle
  // freed get their ids cleared now: nothing reads them once the map is gone here, and other
  // handles' runs do not read freed slots either.
  drain(/*wait=*/RunDomain::current_slot() < 0);
  for (const Retired& r : retired_) {
    if (r.has_ref) objects_->unref(r.ref);
    if (r.slot != UINT32_MAX) ids_[r.slot].store(0, std::memory_order_release);
  }
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

// This handle's reference in slot becomes ref (resolved from arena id `seen`); the old one is
// retired. free_slot: the slot to free (clear in the arena, reuse) once the runs have ended.
void HeldObjects::set_locked(uint32_t slot, uint32_t seen, const ObjectRef* ref,
                             uint32_t free_slot) {
  ObjectRef old = refs_[slot];
  refs_[slot] = ref ? *ref : ObjectRef{};
  void* prev =
      ptrs_[slot].exchange(ref ? program_pointer(*ref) : nullptr, std::memory_order_acq_rel);
  seen_[slot].store(seen, std::memory_order_release);
  if (prev || free_slot != UINT32_MAX)
    retired_.push_back({domain_->retire(), old, free_slot, prev != nullptr});
}

// Another handle changed the slot's id. A syscall-side change in this process may hold mu while
// it waits for runs to end, so a run does not wait for it: it gets the slot as it was before
// the other handle's change, as a run racing with that change may.
void* HeldObjects::resolve(uint32_t slot, void* stale) {
  std::unique_lock g(mu, std::try_to_lock);
  if (!g.owns_lock()) return stale;
  uint32_t id = ids_[slot].load(std::memory_order_acquire);
  if (id != seen_[slot].load(std::memory_order_relaxed)) {
    Result<ObjectRef> ref = Status(ENOENT, "empty slot");
    if (id && id != kClaimed) ref = objects_->ref_id(kind_, id);
    set_locked(slot, id, ref ? &*ref : nullptr, UINT32_MAX);
  }
  return ptrs_[slot].load(std::memory_order_relaxed);
}

bool HeldObjects::put(uint32_t slot, const ObjectRef* ref) {
  drain(false);
  const uint32_t prev_id = ids_[slot].load(std::memory_order_acquire);
  const bool held = (prev_id && prev_id != kClaimed) || ptrs_[slot].load(std::memory_order_relaxed);
  if (allocates_ && !ref) {
    // Freed: the id stays in the arena (this handle sees it as empty) until drain clears it,
    // after the runs that may still read the slot, so no other handle claims it before.
    set_locked(slot, prev_id, nullptr, slot);
  } else {
    const uint32_t id = ref ? ref->id : 0;
    ids_[slot].store(id, std::memory_order_release);
    set_locked(slot, id, ref, UINT32_MAX);
  }
  // The reference just retired goes now unless a run may still hold it, as the kernel frees it
  // after a grace period. Left for the next put, a program deleted from an array it holds itself
  // would keep the array, and the array it, for good.
  drain(false);
  return held;
}

void HeldObjects::discard(uint32_t slot) {
  ObjectRef old = refs_[slot];
  refs_[slot] = ObjectRef{};
  ptrs_[slot].store(nullptr, std::memory_order_release);
  seen_[slot].store(0, std::memory_order_release);
  ids_[slot].store(0, std::memory_order_release);
  if (allocates_) free_.push_back(slot);
  objects_->unref(old);
}

// A slot whose arena id is 0, claimed so that no other handle takes it.
bool HeldObjects::claim(uint32_t slot) {
  uint32_t expected = 0;
  return ids_[slot].compare_exchange_strong(expected, kClaimed, std::memory_order_acq_rel);
}

uint32_t HeldObjects::alloc_slot() {
  drain(false);
  for (bool waited = false;; waited = true) {
    while (!free_.empty()) {  // freed here, or free at bind; another handle may have taken it
      uint32_t slot = free_.back();
      free_.pop_back();
      if (claim(slot)) return slot;
    }
    for (uint32_t i = 0; i < n_slots_; ++i)  // slots other handles freed
      if (claim(i)) return i;
    if (waited || retired_.empty() || RunDomain::current_slot() >= 0) return UINT32_MAX;
    drain(true);
  }
}

void HeldObjects::drain(bool wait) {
  if (retired_.empty()) return;
  RunDomain& domain = *domain_;
  if (wait) domain.synchronize(retired_.back().tag);
  uint64_t below = domain.reusable_below();
  size_t n = 0;
  while (n < retired_.size() && retired_[n].tag < below) {
    const Retired& r = retired_[n];
    if (r.has_ref) objects_->unref(r.ref);
    if (r.slot != UINT32_MAX) {
      seen_[r.slot].store(0, std::memory_order_release);
      ids_[r.slot].store(0, std::memory_order_release);
      free_.push_back(r.slot);
    }
    ++n;
  }
  retired_.erase(retired_.begin(), retired_.begin() + static_cast<std::ptrdiff_t>(n));
}

}  // namespace bpfbox::maps
