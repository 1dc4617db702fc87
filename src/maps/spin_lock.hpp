// A lock word that lives inside an arena: a plain atomic, so it works across processes that map
// the same memory. Held for a few hundred nanoseconds at most (a bucket relink, a list pop).
//
// The word holds the holder's pid (0 when free), so a process killed while holding a lock does
// not block the others for ever: a waiter that has spun for a while (well past any hold time of a
// live holder, preemption aside) checks that the holder still runs and takes the lock over if
// not, as a robust futex would. What the lock protected may then be half-updated, as after any
// crash in the middle of an update; the waiters go on.
#pragma once

#include <atomic>
#include <cstdint>

#include "maps/process.hpp"

namespace bpfbox::maps {

struct SpinLock {
  std::atomic<uint32_t> word{0};

  void lock() {
    const uint32_t me = self_pid();
    uint32_t expected = 0;
    if (!word.compare_exchange_strong(expected, me, std::memory_order_acquire,
                                      std::memory_order_relaxed))
      lock_contended(me);
  }
  void unlock() { word.store(0, std::memory_order_release); }
  // Waits, yielding to the holder; takes the lock over from a dead holder.
  void lock_contended(uint32_t me);
};
static_assert(sizeof(SpinLock) == 4 && std::atomic<uint32_t>::is_always_lock_free);

class SpinGuard {
 public:
  explicit SpinGuard(SpinLock& l) : l_(l) { l_.lock(); }
  ~SpinGuard() { l_.unlock(); }
  SpinGuard(const SpinGuard&) = delete;
  SpinGuard& operator=(const SpinGuard&) = delete;

 private:
  SpinLock& l_;
};

}  // namespace bpfbox::maps
