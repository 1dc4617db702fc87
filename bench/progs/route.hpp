// Where libbpf's bpf() calls go in the benchmark and its test: to bpfbox (bpfbox_bpf()) or to the
// running kernel, switched per call site, so one process loads the same object into both. This is
// src/shim's interposition (syscall() and mmap() defined in the executable) with a switch instead
// of "always bpfbox"; the executable links this instead of bpfbox_shim.
#pragma once

namespace bpfbox::progbench {

enum class Target { Bpfbox, Kernel };

// Sends this thread's bpf() calls (and mmap() of map fds) to `t` while it lives.
class Route {
 public:
  explicit Route(Target t);
  ~Route();
  Route(const Route&) = delete;
  Route& operator=(const Route&) = delete;

 private:
  Target saved_;
};

}  // namespace bpfbox::progbench
