// The in-process loader shim: this object defines syscall() in the executable that links it, so
// the dynamic linker binds libbpf.so's syscall(__NR_bpf, ...) to it. bpf() goes to bpfbox_bpf();
// every other number goes to libc's syscall(), found with dlsym(RTLD_NEXT). libbpf then is the
// loader (ELF, BTF, relocations, global data) and bpfbox answers its calls.
#include <dlfcn.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <sys/syscall.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "bpfbox/bpf.h"

namespace {

using SyscallFn = long (*)(long, ...);

SyscallFn real_syscall() {
  static SyscallFn fn = reinterpret_cast<SyscallFn>(dlsym(RTLD_NEXT, "syscall"));
  return fn;
}

// bpfbox itself mmaps its storage files: while this thread is inside bpfbox (a bpf() call or a map
// mmap), mmap() goes straight to libc, or bpfbox would look the fd up under its own locks.
thread_local int t_depth = 0;

struct InBpfbox {
  InBpfbox() { t_depth++; }
  ~InBpfbox() { t_depth--; }
};

// BPFBOX_TRACE_BPF=1: one stderr line per bpf() call, what bpfbox answered (strace's view, with
// bpfbox's reason for a failure): how to see which of libbpf's probes and calls fail.
void trace_bpf(long cmd, int r) {
  static const bool on = std::getenv("BPFBOX_TRACE_BPF") != nullptr;
  if (!on) return;
  const int e = errno;
  if (r >= 0)
    std::fprintf(stderr, "bpfbox: bpf(%ld) = %d\n", cmd, r);
  else
    std::fprintf(stderr, "bpfbox: bpf(%ld) = -1 %s (%s)\n", cmd, strerrorname_np(e),
                 bpfbox_bpf_last_error());
  errno = e;
}

}  // namespace

// The x86-64 syscall ABI takes at most six integer arguments; reading six longs from the va_list
// and passing them on is what glibc's own syscall() does.
extern "C" __attribute__((visibility("default"))) long syscall(long number, ...) {
  va_list ap;
  va_start(ap, number);
  long a[6];
  for (long& x : a) x = va_arg(ap, long);
  va_end(ap);
  if (number == __NR_bpf) {
    InBpfbox in;
    const int r = bpfbox_bpf(int(a[0]), reinterpret_cast<union bpf_attr*>(a[1]), unsigned(a[2]));
    trace_bpf(a[0], r);
    return r;
  }
  SyscallFn fn = real_syscall();
  if (!fn) {
    errno = ENOSYS;
    return -1;
  }
  return fn(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}

// mmap() of a bpfbox map fd maps the map's storage (libbpf mmaps .data/.bss/.rodata after load,
// through mmap64); every other mmap() is libc's. Anonymous mappings (fd -1) look nothing up.
namespace {

using MmapFn = void* (*)(void*, size_t, int, int, int, off_t);

void* shim_mmap(const char* real_name, void* addr, size_t len, int prot, int flags, int fd,
                off_t off) {
  if (fd >= 0 && t_depth == 0) {
    InBpfbox in;
    if (bpfbox_is_map_fd(fd)) return bpfbox_map_mmap(addr, len, prot, flags, fd, off);
  }
  auto real = reinterpret_cast<MmapFn>(dlsym(RTLD_NEXT, real_name));
  if (!real) {
    errno = ENOSYS;
    return MAP_FAILED;
  }
  return real(addr, len, prot, flags, fd, off);
}

}  // namespace

extern "C" __attribute__((visibility("default"))) void* mmap(void* addr, size_t len, int prot,
                                                             int flags, int fd, off_t off) {
  return shim_mmap("mmap", addr, len, prot, flags, fd, off);
}

// off64_t is off_t on x86-64.
extern "C" __attribute__((visibility("default"))) void* mmap64(void* addr, size_t len, int prot,
                                                               int flags, int fd, off_t off) {
  return shim_mmap("mmap64", addr, len, prot, flags, fd, off);
}

// The pin tree seen at /sys/fs/bpf, for the file calls libbpf makes around pinning: statfs() (its
// check that a pin path is on bpffs: BPF_FS_MAGIC), mkdir() of parent directories and unlink()
// to unpin. Paths under /sys/fs/bpf name the same place in the runtime dir's tree, as BPF_OBJ_PIN
// takes them; any other path is libc's.
namespace {

constexpr char kBpffs[] = "/sys/fs/bpf";

bool under(const std::string& p, const std::string& dir) {
  return p.compare(0, dir.size(), dir) == 0 && (p.size() == dir.size() || p[dir.size()] == '/');
}

// The tree path for a /sys/fs/bpf path, and with `tree_too` a path in the tree itself; empty for
// anything else. The runtime dir is only asked for those paths: bpfbox's own mkdir() calls while
// it resolves the runtime dir (under its lock) never name /sys/fs/bpf.
std::string pin_tree_path(const char* path, bool tree_too) {
  if (!path || t_depth > 0) return {};
  const std::string p = path;
  const bool bpffs = under(p, kBpffs);
  if (!bpffs && !tree_too) return {};
  InBpfbox in;
  const std::string tree = std::string(bpfbox_runtime_dir()) + "/fs";
  if (bpffs) return tree + p.substr(sizeof kBpffs - 1);
  return under(p, tree) ? p : std::string();
}

template <typename Fn>
Fn real_fn(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
}

}  // namespace

extern "C" __attribute__((visibility("default"))) int statfs64(const char* path,
                                                               struct statfs64* buf) {
  using Fn = int (*)(const char*, struct statfs64*);
  static Fn real = real_fn<Fn>("statfs64");
  const std::string t = pin_tree_path(path, true);
  const int r = real(t.empty() ? path : t.c_str(), buf);
  if (r == 0 && !t.empty()) buf->f_type = BPF_FS_MAGIC;
  return r;
}

extern "C" __attribute__((visibility("default"))) int statfs(const char* path, struct statfs* buf) {
  return statfs64(path, reinterpret_cast<struct statfs64*>(buf));  // one layout on x86-64
}

extern "C" __attribute__((visibility("default"))) int mkdir(const char* path, mode_t mode) {
  using Fn = int (*)(const char*, mode_t);
  static Fn real = real_fn<Fn>("mkdir");
  const std::string t = pin_tree_path(path, false);
  return real(t.empty() ? path : t.c_str(), mode);
}

extern "C" __attribute__((visibility("default"))) int unlink(const char* path) {
  using Fn = int (*)(const char*);
  static Fn real = real_fn<Fn>("unlink");
  const std::string t = pin_tree_path(path, false);
  return real(t.empty() ? path : t.c_str());
}
