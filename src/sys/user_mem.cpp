// process_vm_readv/writev on the process itself: the kernel checks the addresses and answers
// EFAULT for a page that is not mapped (or not writable), as copy_from_user does for bpf(2).
// Where the calls are refused (a seccomp filter: ENOSYS or EPERM), plain copies are the fallback.
#include "sys/user_mem.hpp"

#include <pthread.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

namespace bpfbox::sys {

namespace {

std::atomic<bool> g_unchecked{false};  // process_vm_* refused here: copy without checks
thread_local uint64_t t_caller_stack = 0;

// The top of the calling thread's stack.
uint64_t stack_top() {
  thread_local uint64_t top = [] {
    pthread_attr_t attr;
    uint64_t t = 0;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
      void* base = nullptr;
      size_t size = 0;
      if (pthread_attr_getstack(&attr, &base, &size) == 0)
        t = reinterpret_cast<uintptr_t>(base) + size;
      pthread_attr_destroy(&attr);
    }
    return t;
  }();
  return top;
}

// The process's id for process_vm_*: glibc no longer caches getpid(), a syscall per copy. A
// fork()ed child (glibc's fork, which runs the atfork handlers) reads its own again.
std::atomic<pid_t> g_pid{0};
pid_t self_pid() {
  pid_t p = g_pid.load(std::memory_order_relaxed);
  if (p) return p;
  static const bool registered = [] {
    pthread_atfork(nullptr, nullptr, [] { g_pid.store(0, std::memory_order_relaxed); });
    return true;
  }();
  (void)registered;
  p = getpid();
  g_pid.store(p, std::memory_order_relaxed);
  return p;
}

bool refused(int err) {
  return err == ENOSYS || err == EPERM;
}

Status fault(const char* what) {
  return Status(EFAULT, what);
}

}  // namespace

Status copy_from_user(void* dst, uint64_t src, size_t n) {
  if (n == 0) return Status::ok();
  if (!src) return fault("a user pointer is null");
  if (on_own_stack(src, n)) {
    std::memcpy(dst, reinterpret_cast<const void*>(static_cast<uintptr_t>(src)), n);
    return Status::ok();
  }
  if (!g_unchecked.load(std::memory_order_relaxed)) {
    iovec local{dst, n};
    iovec remote{reinterpret_cast<void*>(static_cast<uintptr_t>(src)), n};
    const ssize_t r = process_vm_readv(self_pid(), &local, 1, &remote, 1, 0);
    if (r == ssize_t(n)) return Status::ok();
    if (r >= 0 || !refused(errno))
      return fault("a user pointer points to memory that cannot be read");
    g_unchecked = true;
  }
  std::memcpy(dst, reinterpret_cast<const void*>(static_cast<uintptr_t>(src)), n);
  return Status::ok();
}

Status copy_to_user(uint64_t dst, const void* src, size_t n) {
  if (n == 0) return Status::ok();
  if (!dst) return fault("a user pointer is null");
  const uint64_t low = t_caller_stack;
  if (low && dst >= low && dst + n >= dst && dst + n <= stack_top()) {
    std::memcpy(reinterpret_cast<void*>(static_cast<uintptr_t>(dst)), src, n);
    return Status::ok();
  }
  if (!g_unchecked.load(std::memory_order_relaxed)) {
    iovec local{const_cast<void*>(src), n};
    iovec remote{reinterpret_cast<void*>(static_cast<uintptr_t>(dst)), n};
    const ssize_t r = process_vm_writev(self_pid(), &local, 1, &remote, 1, 0);
    if (r == ssize_t(n)) return Status::ok();
    if (r >= 0 || !refused(errno))
      return fault("a user pointer points to memory that cannot be written");
    g_unchecked = true;
  }
  std::memcpy(reinterpret_cast<void*>(static_cast<uintptr_t>(dst)), src, n);
  return Status::ok();
}

bool on_own_stack(uint64_t p, size_t n) {
  const uint64_t sp = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  return p >= sp && p + n >= p && p + n <= stack_top();
}

void set_caller_stack(uint64_t lowest) {
  t_caller_stack = lowest;
}

Result<std::vector<uint8_t>> bytes_from_user(uint64_t src, size_t n) {
  std::vector<uint8_t> v(n);
  if (Status st = copy_from_user(v.data(), src, n); !st) return st;
  return v;
}

Result<std::string> string_from_user(uint64_t src, size_t max) {
  if (!src) return fault("a user string pointer is null");
  // On the caller's stack: read up to the NUL only, as strncpy_from_user, not whole chunks (the
  // bytes past a string in a small stack buffer belong to other objects; ASan reports the read).
  if (on_own_stack(src, 1)) {
    const char* s = reinterpret_cast<const char*>(static_cast<uintptr_t>(src));
    const size_t limit = std::min<uint64_t>(max, stack_top() - src);
    const size_t n = strnlen(s, limit);
    if (n < limit || limit == max) return std::string(s, n);
  }
  std::string out;
  // Page by page, so a short string at the end of a mapping is not a fault.
  constexpr uint64_t kPage = 4096;
  uint64_t p = src;
  while (out.size() < max) {
    const size_t chunk = std::min<uint64_t>(kPage - (p % kPage), max - out.size());
    char buf[kPage];
    if (Status st = copy_from_user(buf, p, chunk); !st) return st;
    const void* nul = std::memchr(buf, 0, chunk);
    if (nul) {
      out.append(buf, static_cast<const char*>(nul) - buf);
      return out;
    }
    out.append(buf, chunk);
    p += chunk;
  }
  return out;
}

}  // namespace bpfbox::sys
