#include "vm/jit/code_memory.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <vector>

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

}  // namespace

CodeMemory::~CodeMemory() {
  if (!base_) return;
  // Not executable any more, then poisoned, then kept for the next program.
  if (mprotect(base_, mapped_, PROT_READ | PROT_WRITE) != 0) return;  // leak rather than reuse
  std::memset(base_, 0xCC, mapped_);
  PagePool& p = pool();
  std::lock_guard<std::mutex> lock(p.mu);
  if (p.kept + mapped_ > PagePool::kMaxKept) {
    munmap(base_, mapped_);
    return;
  }
  p.free.emplace_back(base_, mapped_);
  p.kept += mapped_;
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
      void* m = mmap(nullptr, chunk, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
      if (m == MAP_FAILED) return Status(errno, std::string("jit: mmap: ") + std::strerror(errno));
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
