// Runs' CPU slots and the epoch that decides when unlinked elements may be reused.
//
// Slot i's word says what slot i is doing: 0 free; kLeased | n while leased to a thread that is
// not in a run (n: the slot's n-th lease); else the run's announcement, the global epoch read
// when it started (with the lease number's low bits, so that a reaper cannot mistake a later
// run for the dead one it looked at). An element unlinked while the epoch was e (its retire tag)
// may be reused once every run announces an epoch > e: those runs started after the unlink.
//
// A thread keeps its lease between runs, so entering a run is one CAS on its own slot's line
// and leaving one store. The epoch is advanced lazily, by whoever needs reuse (advance_past), so
// runs starting read a line that rarely changes.
//
// The words live in shared memory so that every process attached to the same maps shares one
// domain: with a storage directory (set_storage_dir) the file `.bpfbox-run-domain` in it, which
// every process using that directory maps (a process attaching one of its maps joins it); with
// memfd storage (the default) a memfd that only forked children inherit. A run in any of them
// then holds back reuse in all. Each slot also records the process of its lease (pid and
// process start time): the run of a process that died in it is taken back by whoever finds it
// holding back reclamation or CPU slots, so a killed process blocks nothing; a dead process's
// idle lease is taken like any idle lease.
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

  static constexpr uint64_t kLeased = uint64_t(1) << 63;
  static constexpr uint32_t kLeaseBits = 20;  // of the lease number, in a run's word
  // Enters a run on `slot` if this thread's `lease` still holds it (nobody took it meanwhile).
  bool try_enter(uint32_t slot, uint64_t lease) {
    uint64_t e = shared_->epoch.load(std::memory_order_relaxed);
    uint64_t expected = lease;
    return shared_->slots[slot].word.compare_exchange_strong(
        expected, announcement(e, lease), std::memory_order_seq_cst, std::memory_order_relaxed);
  }
  void leave(uint32_t slot, uint64_t lease) {
    shared_->slots[slot].word.store(lease, std::memory_order_release);
  }
  // Leases a slot (a free one, else one whose holder is not in a run; `hint` first) and enters a
  // run on it; waits while every slot is in a run. Returns the slot, the lease in *lease.
  uint32_t lease_and_enter(uint32_t hint, uint64_t* lease);
  // Gives a lease back (if it still holds) when its thread is not in a run.
  void drop_lease(uint32_t slot, uint64_t lease);

  // The tag of an element unlinked before this call: the current epoch, read after a full fence
  // (a run that started before the unlink read an epoch <= it). Leaves the epoch as it is.
  uint64_t retire_tag() {
    // A full barrier between the unlink and the load (a locked no-op on the stack, as the
    // kernel's smp_mb(); ThreadSanitizer refuses atomic_thread_fence).
    asm volatile("lock orq $0, (%%rsp)" ::: "memory", "cc");
    return shared_->epoch.load(std::memory_order_seq_cst);
  }
  // Advances the epoch and returns the old value: everything retired before is older than any
  // run that starts from now on (for rare retires that want to be reclaimed without a demand).
  uint64_t retire() { return shared_->epoch.fetch_add(1, std::memory_order_seq_cst); }
  uint64_t epoch() const { return shared_->epoch.load(std::memory_order_relaxed); }
  // Makes runs starting from now announce an epoch above `tag` (advances the epoch if needed).
  void advance_past(uint64_t tag);
  // The epoch the run in `slot` announced, 0 if no run is in it.
  uint64_t slot_epoch(uint32_t slot) const {
    return epoch_of(shared_->slots[slot].word.load(std::memory_order_relaxed));
  }
  // Elements retired with a tag below this may be reused now.
  uint64_t reusable_below() const;
  // Waits until elements retired with `tag` may be reused, taking back slots of dead processes
  // that hold it up. Never call it from inside a run.
  void synchronize(uint64_t tag);
  // Frees slots whose run's process has died; returns how many.
  uint32_t reap_dead_owners();

 private:
  RunDomain() = default;
  struct alignas(64) Slot {
    std::atomic<uint64_t> word{0};       // see the top of this file
    std::atomic<uint64_t> owner{0};      // the process of the lease (owner_token())
    std::atomic<uint64_t> lease_seq{0};  // leases given so far
  };
  static uint64_t announcement(uint64_t epoch, uint64_t lease) {
    return epoch << kLeaseBits | (lease & ((uint64_t(1) << kLeaseBits) - 1));
  }
  static uint64_t epoch_of(uint64_t word) {
    return word == 0 || (word & kLeased) ? 0 : word >> kLeaseBits;
  }
  bool take(uint32_t slot, uint64_t expected, uint64_t me, uint64_t* lease);
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

  Arena arena_;
  Shared* shared_ = nullptr;
  uint32_t nr_slots_ = 0;
};

// Maps alive in this process (created or attached, not yet destroyed): the run domain may change
// (set_storage_dir) only when there are none.
void note_map_alive(int delta);

}  // namespace bpfbox::maps
