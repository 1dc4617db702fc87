// The references a map holds on other objects (programs, maps, perf events), process-local.
//
// Slot i holds one ObjectRef: its id goes to the arena (ids[i], what syscall-side lookups return
// and another process can read), the pointer programs use (the vm::Executable, the Map, the
// PerfEventRing) to a lock-free array. Replacing or clearing a slot retires the old reference with
// a run-epoch tag; it is dropped through the ObjectTable once every run that was active at that
// moment has ended, so a run that loaded the pointer may use it until it ends. Changes are
// serialized by `mu` (syscall side only: programs never change these maps).
//
// The arena's ids are shared by every process (every Map handle) on the storage; the pointers are
// this handle's. A slot whose arena id another handle changed no longer matches the id this
// handle's pointer was resolved from (seen_): ptr() then resolves the new id through the object
// table (ObjectTable::ref_id) and retires this handle's old reference, so programs here see the
// other process's update. HASH_OF_MAPS slots are claimed in the arena (compare-and-swap from id
// 0), and a freed slot's id is cleared only once the runs that may read it have ended, so two
// handles never put two elements in one slot.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "bpfbox/maps.hpp"
#include "maps/run_domain.hpp"

namespace bpfbox::maps {

class HeldObjects {
 public:
  // allocates: slots are handed out by alloc_slot (HASH_OF_MAPS), not indexes (fd arrays).
  // kind: what the ids name; PerfEvent ids are not resolved (a perf event is this process's).
  HeldObjects(ObjectTable* objects, uint32_t n_slots, std::atomic<uint32_t>* ids, bool allocates,
              ObjectKind kind);
  // Drops this process's references (after the runs that may use them, outside a run); the ids
  // in the arena stay for the map's other processes.
  ~HeldObjects();
  HeldObjects(const HeldObjects&) = delete;
  HeldObjects& operator=(const HeldObjects&) = delete;

  // Lock-free unless another handle changed the slot: the program-facing pointer in slot, or
  // nullptr.
  void* ptr(uint32_t slot) {
    void* p = ptrs_[slot].load(std::memory_order_acquire);
    if (!lazy_) return p;
    uint32_t id = ids_[slot].load(std::memory_order_acquire);
    if (id == seen_[slot].load(std::memory_order_acquire)) return p;
    return resolve(slot, p);
  }
  uint32_t id(uint32_t slot) const { return ids_[slot].load(std::memory_order_acquire); }
  // Where slot `slot` is kept, for an engine reading it inline (vm::TailCallSlot): the pointer
  // ptr() returns while the arena's id equals the one it was resolved from.
  vm::TailCallSlot words(uint32_t slot) const {
    static_assert(sizeof(ptrs_[0]) == 8 && sizeof(ids_[0]) == 4 && sizeof(seen_[0]) == 4);
    return {&ptrs_[slot], lazy_ ? &ids_[slot] : nullptr, lazy_ ? &seen_[slot] : nullptr};
  }
  uint32_t n_slots() const { return n_slots_; }

  // Under mu. Puts ref into slot (nullptr empties it) in one atomic exchange; the old reference is
  // retired. Returns whether the slot held one.
  bool put(uint32_t slot, const ObjectRef* ref);
  // Under mu. Drops the retired references no run can hold any more (put does it too).
  void reclaim() { drain(false); }
  // Under mu. Empties a slot no run can have seen (a failed insert): dropped at once.
  void discard(uint32_t slot);
  // Under mu. A free slot for allocate-on-insert users (HASH_OF_MAPS), or UINT32_MAX. Waits for
  // runs to end when only retired slots are left, unless called from inside a run.
  uint32_t alloc_slot();
  // For a map attached in another process: takes a reference, through the object table, on the
  // object behind every id the arena holds (ObjectTable::ref_id), for the program side.
  void adopt_ids();

  std::mutex mu;

 private:
  struct Retired {
    uint64_t tag;
    ObjectRef ref;
    uint32_t slot;  // a slot to free after the runs (HASH_OF_MAPS), else UINT32_MAX
    bool has_ref;   // ref is a reference to drop
  };
  static void* program_pointer(const ObjectRef& ref);
  void drain(bool wait);
  void* resolve(uint32_t slot, void* stale);
  void set_locked(uint32_t slot, uint32_t id, const ObjectRef* ref, uint32_t free_slot);
  bool claim(uint32_t slot);

  ObjectTable* objects_;
  RunDomain* domain_;  // the process's, when the map was bound
  uint32_t n_slots_;
  bool allocates_;
  ObjectKind kind_;
  bool lazy_;                   // ids are resolved (not perf events, and an object table exists)
  std::atomic<uint32_t>* ids_;  // in the arena
  std::unique_ptr<std::atomic<void*>[]> ptrs_;
  std::unique_ptr<std::atomic<uint32_t>[]> seen_;  // the arena id ptrs_[i] was resolved from
  std::vector<ObjectRef> refs_;
  std::vector<uint32_t> free_;    // slots free for alloc_slot
  std::vector<Retired> retired_;  // in tag order
};

}  // namespace bpfbox::maps
