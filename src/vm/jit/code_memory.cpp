#include "vm/jit/code_memory.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace bpfbox::vm::jit {

CodeMemory::~CodeMemory() {
  if (base_) munmap(base_, mapped_);
}

Status CodeMemory::reserve(size_t size) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t len = (size + page - 1) / page * page;
  void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return Status(errno, std::string("jit: mmap: ") + std::strerror(errno));
  base_ = static_cast<uint8_t*>(p);
  size_ = size;
  mapped_ = len;
  // Fill the tail with int3 so a stray jump past the code traps.
  std::memset(base_ + size, 0xCC, len - size);
  return Status::ok();
}

Status CodeMemory::seal() {
  if (mprotect(base_, mapped_, PROT_READ | PROT_EXEC) != 0)
    return Status(errno, std::string("jit: mprotect: ") + std::strerror(errno));
  sealed_ = true;
  return Status::ok();
}

}  // namespace bpfbox::vm::jit
