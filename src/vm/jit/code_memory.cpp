#include "vm/jit/code_memory.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <vector>

#include "bpfbox/vm.hpp"

namespace bpfbox::vm::jit {
namespace {

// Pages are recycled rather than unmapped: mapping, first-touch faults and unmapping cost far more
// than the translation itself (tens of microseconds per program in a VM). A released region is made
// read-write and filled with int3 before it is kept, so no stale code stays executable.
struct PagePool {
  std::mutex mu;
  std::vector<std::pair<uint8_t*, size_t>> free;  // read-write regions, page multiples
  uint8_t* chunk = nullptr;                       // read-write pages not handed out yet
  size_t chunk_left = 0;
  size_t kept = 0;  // bytes in `free`

  static constexpr size_t kChunkPages = 64;
  static constexpr size_t kMaxKept = 16u << 20;
};

PagePool& pool() {
  static PagePool* p = new PagePool;  // never destroyed: executables may outlive static teardown
  return *p;
}

size_t page_size() {
  static const size_t p = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return p;
}

// Somewhere in the library's code: helpers and the runtime routines generated code calls are
// usually linked with it (or with the executable it is linked into).
uint64_t anchor() {
  return reinterpret_cast<uint64_t>(&resolve_tail_call);
}

uint64_t distance(uint64_t a, uint64_t b) {
  return a > b ? a - b : b - a;
}

bool in_window(const void* m, size_t len) {
  const uint64_t lo = reinterpret_cast<uint64_t>(m);
  return distance(lo, anchor()) < CodeMemory::kNearWindow &&
         distance(lo + len, anchor()) < CodeMemory::kNearWindow;
}

// Placing code near the anchor is possible until a mapping fails to land there (the hint is only
// a hint); from then on code goes anywhere and calls go through a register.
std::atomic<bool> near_ok{true};

// Fresh read-write pages: near the anchor when possible (a few hints below and above it, as the
// address space around the executable is mostly free), else anywhere.
void* map_pages(size_t len) {
  constexpr int kFlags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE;
  if (near_ok.load(std::memory_order_relaxed)) {
    const uint64_t at = anchor() & ~uint64_t{(2u << 20) - 1};
    for (uint64_t step : {64ull << 20, 128ull << 20, 256ull << 20}) {
      for (int side : {-1, 1}) {
        if (side < 0 && at < step + len + (1ull << 30)) continue;  // stay well above NULL
        const uint64_t hint = side < 0 ? at - step - len : at + step;
        void* m = mmap(reinterpret_cast<void*>(hint), len, PROT_READ | PROT_WRITE, kFlags, -1, 0);
        if (m == MAP_FAILED) break;
        if (in_window(m, len)) return m;
        munmap(m, len);
      }
    }
    near_ok.store(false, std::memory_order_relaxed);
  }
  void* m = mmap(nullptr, len, PROT_READ | PROT_WRITE, kFlags, -1, 0);
  return m == MAP_FAILED ? nullptr : m;
}

}  // namespace

uint64_t CodeMemory::near() {
  return near_ok.load(std::memory_order_relaxed) ? anchor() : 0;
}

void CodeMemory::release() {
  if (!base_) return;
  uint8_t* base = base_;
  const size_t mapped = mapped_;
  const bool sealed = sealed_;
  base_ = nullptr, size_ = mapped_ = 0, sealed_ = false;
  // Not executable any more, then poisoned, then kept for the next program.
  if (sealed && mprotect(base, mapped, PROT_READ | PROT_WRITE) != 0) return;  // leak, not reuse
  std::memset(base, 0xCC, mapped);
  PagePool& p = pool();
  std::lock_guard<std::mutex> lock(p.mu);
  if (p.kept + mapped > PagePool::kMaxKept) {
    munmap(base, mapped);
    return;
  }
  p.free.emplace_back(base, mapped);
  p.kept += mapped;
}

Status CodeMemory::reserve(size_t size) {
  const size_t page = page_size();
  const size_t len = (size + page - 1) / page * page;
  PagePool& p = pool();
  {
    std::lock_guard<std::mutex> lock(p.mu);
    for (size_t i = 0; i < p.free.size(); ++i) {
      if (p.free[i].second != len) continue;
      base_ = p.free[i].first;
      p.free[i] = p.free.back();
      p.free.pop_back();
      p.kept -= len;
      break;
    }
    if (!base_ && len <= p.chunk_left) {
      base_ = p.chunk;
      p.chunk += len;
      p.chunk_left -= len;
    }
    if (!base_) {
      const size_t chunk = std::max(len, PagePool::kChunkPages * page);
      void* m = map_pages(chunk);
      if (!m) return Status(errno, std::string("jit: mmap: ") + std::strerror(errno));
      std::memset(m, 0xCC, chunk);
      // What is left of the old chunk stays usable as a free region.
      if (p.chunk_left) {
        p.free.emplace_back(p.chunk, p.chunk_left);
        p.kept += p.chunk_left;
      }
      base_ = static_cast<uint8_t*>(m);
      p.chunk = base_ + len;
      p.chunk_left = chunk - len;
    }
  }
  size_ = size;
  mapped_ = len;
  return Status::ok();
}

Status CodeMemory::seal() {
  if (mprotect(base_, mapped_, PROT_READ | PROT_EXEC) != 0)
    return Status(errno, std::string("jit: mprotect: ") + std::strerror(errno));
  sealed_ = true;
  return Status::ok();
}

}  // namespace bpfbox::vm::jit
