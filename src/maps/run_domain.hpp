// Runs' CPU slots and the epoch that decides when unlinked elements may be reused.
//
// Slot i's word is 0 while slot i is free, else the global epoch read when a run took it. A run
// therefore owns its CPU and announces its epoch with one compare-and-swap. An element unlinked
// while the epoch was e (retire() returns e and advances the epoch) may be reused once every
// occupied slot announces an epoch > e: each of those runs started after the unlink and cannot hold
// a pointer to it. The words live in a memfd so that processes sharing maps can share the domain.
#pragma once

#include <atomic>
#include <cstdint>

#include "maps/arena.hpp"

namespace bpfbox::maps {

class RunDomain {
 public:
  explicit RunDomain(uint32_t nr_slots);
  ~RunDomain();
  RunDomain(const RunDomain&) = delete;
  RunDomain& operator=(const RunDomain&) = delete;

  static RunDomain& process();  // nr_possible_cpus() slots

  // The slot this thread's innermost RunSlot holds, or -1: syscall-side calls made from inside a
  // run (a helper, a test) must not wait for their own run to end.
  static int32_t current_slot();

  uint32_t nr_slots() const { return nr_slots_; }
  uint32_t acquire();  // waits while every slot is occupied
  void release(uint32_t slot);

  // Called after unlinking an element: the tag to store with it.
  uint64_t retire() { return shared_->epoch.fetch_add(1, std::memory_order_seq_cst); }
  // The epoch the run in `slot` announced.
  uint64_t slot_epoch(uint32_t slot) const {
    return shared_->slots[slot].word.load(std::memory_order_relaxed);
  }
  // Elements retired with a tag below this may be reused now.
  uint64_t reusable_below() const;
  // Waits until elements retired with `tag` may be reused. Never call it from inside a run.
  void synchronize(uint64_t tag) const;

 private:
  struct alignas(64) Slot {
    std::atomic<uint64_t> word{0};
  };
  struct Shared {
    std::atomic<uint64_t> epoch{1};
    alignas(64) Slot slots[1];  // nr_slots of them
  };
  Arena arena_;
  Shared* shared_ = nullptr;
  uint32_t nr_slots_ = 0;
};

}  // namespace bpfbox::maps
