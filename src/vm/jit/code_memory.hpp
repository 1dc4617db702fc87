// Executable memory for generated code, never writable and executable at once: the code is copied
// into read-write pages, relocated, then the pages are switched to read+exec until the program is
// released (pages are recycled through a pool; see code_memory.cpp).
#pragma once

#include <cstddef>
#include <cstdint>

#include "bpfbox/status.hpp"

namespace bpfbox::vm::jit {

class CodeMemory {
 public:
  CodeMemory() = default;
  ~CodeMemory() { release(); }
  // Gives the pages back to the pool (poisoned, not executable); reserve() may be called again.
  void release();
  CodeMemory(CodeMemory&& o) noexcept
      : base_(o.base_), size_(o.size_), mapped_(o.mapped_), sealed_(o.sealed_) {
    o.base_ = nullptr, o.size_ = o.mapped_ = 0, o.sealed_ = false;
  }
  CodeMemory& operator=(CodeMemory&&) = delete;
  CodeMemory(const CodeMemory&) = delete;
  CodeMemory& operator=(const CodeMemory&) = delete;

  // Read-write pages (filled with int3) for `size` bytes of code (phase 1: write).
  Status reserve(size_t size);
  uint8_t* writable() { return sealed_ ? nullptr : base_; }
  // Makes the pages read+exec (phase 2); after this the memory is never writable again.
  Status seal();

  // Where code is placed near: the library's own code, so helpers and runtime routines are in
  // reach of a `call rel32` (every page handed out lies within kNearWindow of it). 0 when the
  // address space did not allow it: code goes anywhere.
  static uint64_t near();
  static constexpr uint64_t kNearWindow = 512ull << 20;

  const uint8_t* code() const { return base_; }
  size_t size() const { return size_; }

 private:
  uint8_t* base_ = nullptr;
  size_t size_ = 0;
  size_t mapped_ = 0;
  bool sealed_ = false;
};

}  // namespace bpfbox::vm::jit
