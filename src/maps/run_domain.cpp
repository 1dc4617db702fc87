#include "maps/run_domain.hpp"

#include <sched.h>

#include <cstdio>
#include <cstdlib>
#include <new>

#include "bpfbox/maps.hpp"

namespace bpfbox::maps {

RunDomain::RunDomain(uint32_t nr_slots) : nr_slots_(nr_slots) {
  auto arena = Arena::create("bpfbox-run-domain", sizeof(Shared) + nr_slots * sizeof(Slot));
  if (!arena) {
    std::fprintf(stderr, "bpfbox: cannot allocate the run domain: %s\n",
                 arena.status().message().c_str());
    std::abort();
  }
  arena_ = *arena;
  shared_ = new (arena_.base) Shared();
  for (uint32_t i = 1; i < nr_slots; ++i) new (&shared_->slots[i]) Slot();
}

RunDomain::~RunDomain() {
  arena_.release();
}

RunDomain& RunDomain::process() {
  static RunDomain* domain = new RunDomain(nr_possible_cpus());  // lives as long as maps may
  return *domain;
}

uint32_t RunDomain::acquire() {
  thread_local uint32_t hint = 0;  // prefer the slot this thread had: its per-CPU data is warm
  for (uint32_t spins = 0;; ++spins) {
    for (uint32_t k = 0; k < nr_slots_; ++k) {
      uint32_t i = (hint + k) % nr_slots_;
      uint64_t expected = 0;
      uint64_t epoch = shared_->epoch.load(std::memory_order_seq_cst);
      if (shared_->slots[i].word.load(std::memory_order_relaxed) == 0 &&
          shared_->slots[i].word.compare_exchange_strong(expected, epoch,
                                                         std::memory_order_seq_cst)) {
        hint = i;
        return i;
      }
    }
    if (spins < 64) {
      __builtin_ia32_pause();
    } else {
      sched_yield();  // more runs than CPUs: wait for one to end, as a task waits for a CPU
    }
  }
}

void RunDomain::release(uint32_t slot) {
  shared_->slots[slot].word.store(0, std::memory_order_seq_cst);
}

uint64_t RunDomain::reusable_below() const {
  uint64_t min = UINT64_MAX;
  for (uint32_t i = 0; i < nr_slots_; ++i) {
    uint64_t w = shared_->slots[i].word.load(std::memory_order_seq_cst);
    if (w != 0 && w < min) min = w;
  }
  return min;
}

void RunDomain::synchronize(uint64_t tag) const {
  for (uint32_t spins = 0; reusable_below() <= tag; ++spins) {
    if (spins < 64) {
      __builtin_ia32_pause();
    } else {
      sched_yield();
    }
  }
}

namespace {
thread_local int32_t tls_slot = -1;
}  // namespace

int32_t RunDomain::current_slot() {
  return tls_slot;
}

RunSlot::RunSlot() : RunSlot(RunDomain::process()) {}
RunSlot::RunSlot(RunDomain& domain) : domain_(&domain), cpu_(domain.acquire()), outer_(tls_slot) {
  tls_slot = static_cast<int32_t>(cpu_);
}
RunSlot::~RunSlot() {
  tls_slot = outer_;
  domain_->release(cpu_);
}

}  // namespace bpfbox::maps
