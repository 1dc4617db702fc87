// A lock word that lives inside an arena: a plain atomic, so it works across processes that map
// the same memory. Held for a few hundred nanoseconds at most (a bucket relink, a list pop).
#pragma once

#include <sched.h>

#include <atomic>
#include <cstdint>

namespace bpfbox::maps {

struct SpinLock {
  std::atomic<uint32_t> word{0};

  void lock() {
    for (uint32_t spins = 0; word.exchange(1, std::memory_order_acquire) != 0;) {
      while (word.load(std::memory_order_relaxed) != 0) {
        // Two cores and more threads than cores: give the holder the CPU soon.
        if (++spins < 64) {
          __builtin_ia32_pause();
        } else {
          sched_yield();
        }
      }
    }
  }
  void unlock() { word.store(0, std::memory_order_release); }
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
