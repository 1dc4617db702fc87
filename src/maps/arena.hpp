// Shareable memory for one map: a memfd mapped MAP_SHARED. Pages are allocated on first touch, so
// a large max_entries costs address space, not memory, until elements are used.
#pragma once

#include <cstdint>

#include "bpfbox/status.hpp"

namespace bpfbox::maps {

struct Arena {
  int fd = -1;
  uint8_t* base = nullptr;
  uint64_t size = 0;

  static Result<Arena> create(const char* name, uint64_t size);  // zero-filled
  static Result<Arena> attach(int memfd);                        // maps an existing memfd
  void release();                                                // unmaps and closes
};

constexpr uint64_t kPageSize = 4096;
constexpr uint64_t round_up(uint64_t v, uint64_t a) {
  return (v + a - 1) / a * a;
}

}  // namespace bpfbox::maps
