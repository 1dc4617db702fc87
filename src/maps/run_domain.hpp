// Runs' CPU slots and the epoch that decides when unlinked elements may be reused.
//
// Slot i's word is 0 while slot i is free, else the global epoch read when a run took it. An
// element unlinked while the epoch was e (retire() returns e and advances the epoch) may be
// reused once every occupied slot announces an epoch > e: each of those runs started after the
// unlink and cannot hold a pointer to it.
//
// The words live in shared memory so that every process attached to the same maps shares one
// domain: with a storage directory (set_storage_dir) the file `.bpfbox-run-domain` in it, which
// every process using that directory maps (a process attaching one of its maps joins it); with
// memfd storage (the default) a memfd that only forked children inherit. A run in any of them
// then holds back reuse in all. Each slot also records its
// owner (pid and process start time): a slot whose owner died without releasing it is taken back
// by whoever finds it holding back reclamation or CPU slots, so a killed process blocks nothing.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "maps/arena.hpp"

namespace bpfbox::maps {

class RunDomain {
 public:
  ~RunDomain();
  RunDomain(const RunDomain&) = delete;
  RunDomain& operator=(const RunDomain&) = delete;

  // A private domain of nr_slots slots in a memfd (shared with children forked later).
  static Result<RunDomain*> create_memfd(uint32_t nr_slots);
  // The domain of a storage directory: its `.bpfbox-run-domain` file, created if missing.
  static Result<RunDomain*> open_dir(const std::string& dir, uint32_t nr_slots);

  // The domain of this process's maps and runs: the storage directory's, or a memfd.
  static RunDomain& process();

  // The slot this thread's innermost RunSlot holds, or -1: syscall-side calls made from inside a
  // run (a helper, a test) must not wait for their own run to end.
  static int32_t current_slot();

  uint64_t id() const { return shared_->id; }  // random, recorded in each map's header
  uint32_t nr_slots() const { return nr_slots_; }
  uint32_t acquire();  // waits while every slot is occupied
  void release(uint32_t slot);

  // Advances the epoch and returns the old value: everything retired before is older than any
  // run that starts from now on.
  uint64_t retire() { return shared_->epoch.fetch_add(1, std::memory_order_seq_cst); }
  // Makes runs starting from now announce an epoch above `tag` (advances the epoch if needed).
  void advance_past(uint64_t tag);
  // The epoch the run in `slot` announced.
  uint64_t slot_epoch(uint32_t slot) const {
    return shared_->slots[slot].word.load(std::memory_order_relaxed);
  }
  // Elements retired with a tag below this may be reused now.
  uint64_t reusable_below() const;
  // Waits until elements retired with `tag` may be reused, taking back slots of dead processes
  // that hold it up. Never call it from inside a run.
  void synchronize(uint64_t tag);
  // Frees slots whose owning process has died; returns how many.
  uint32_t reap_dead_owners();

 private:
  RunDomain() = default;
  struct alignas(64) Slot {
    std::atomic<uint64_t> word{0};   // the announced epoch, 0 when free
    std::atomic<uint64_t> owner{0};  // the owning process (owner_token()), 0 when free
  };
  struct Shared {
    static constexpr uint64_t kMagic = 0x4e4d4f44584f4242ull;  // "BBOXDOMN"
    std::atomic<uint64_t> magic;                               // written last by the creator
    uint32_t version;
    uint32_t nr_slots;
    uint64_t id;
    alignas(64) std::atomic<uint64_t> epoch;
    alignas(64) Slot slots[1];  // nr_slots of them
  };
  static uint64_t bytes(uint32_t nr_slots) {
    return sizeof(Shared) + uint64_t(nr_slots) * sizeof(Slot);
  }
  static void init(Shared* s, uint32_t nr_slots);
  void claim_announce(uint32_t slot);

  Arena arena_;
  Shared* shared_ = nullptr;
  uint32_t nr_slots_ = 0;
};

// Maps alive in this process (created or attached, not yet destroyed): the run domain may change
// (set_storage_dir) only when there are none.
void note_map_alive(int delta);

}  // namespace bpfbox::maps
