#include "maps/spin_lock.hpp"

#include <sched.h>

namespace bpfbox::maps {

namespace {
// Yields after which a waiter starts checking the holder (a live one holds for microseconds, or
// for as long as it is preempted: then it is alive), and how often it checks.
constexpr uint32_t kCheckAfter = 1024, kCheckEvery = 256;
}  // namespace

void SpinLock::lock_contended(uint32_t me) {
  for (uint32_t spins = 0;; ++spins) {
    uint32_t holder = word.load(std::memory_order_relaxed);
    if (holder == 0) {
      if (word.compare_exchange_weak(holder, me, std::memory_order_acquire,
                                     std::memory_order_relaxed))
        return;
      continue;
    }
    // Two cores and more threads than cores: give the holder the CPU soon.
    if (spins < 64) {
      __builtin_ia32_pause();
    } else {
      sched_yield();
    }
    if (spins >= kCheckAfter && spins % kCheckEvery == 0 && holder != me && !pid_alive(holder) &&
        word.compare_exchange_strong(holder, me, std::memory_order_acquire,
                                     std::memory_order_relaxed))
      return;  // its holder died holding it
  }
}

}  // namespace bpfbox::maps
