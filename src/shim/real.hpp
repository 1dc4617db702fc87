// What the shim stands in front of: libc's own functions (the next definition after the shim, in
// the executable or in libbpfbox-preload.so), and the guard that sends bpfbox's own calls (made
// while it serves one: its storage mmaps, its mkdirs, its closes) straight to them, so that no
// interposer recurses into bpfbox.
#pragma once

#include <dlfcn.h>

namespace bpfbox::shim {

template <typename Fn>
Fn real(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
}

// How deep this thread is inside bpfbox (0: the caller is the program).
extern thread_local int t_depth;

struct InBpfbox {
  InBpfbox() { t_depth++; }
  ~InBpfbox() { t_depth--; }
  InBpfbox(const InBpfbox&) = delete;
  InBpfbox& operator=(const InBpfbox&) = delete;
};

inline bool inside_bpfbox() {
  return t_depth > 0;
}

}  // namespace bpfbox::shim
