// What /proc says about a bpfbox fd, as it says it about the kernel's: readlink of
// /proc/self/fd/N is "anon_inode:bpf-map" (bpftool tells object kinds apart by it), and
// /proc/self/fdinfo/N is the kernel's text (fdinfo.hpp), served from a memfd so that
// open(), openat() and fopen() of it read as a file. The process's own pid in place of "self" and
// "thread-self" count too; every other path is libc's.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "shim/fdinfo.hpp"
#include "shim/object_kind.hpp"
#include "shim/real.hpp"

namespace bpfbox::shim {
namespace {

// The N of "/proc/<self>/<leaf>/N" when <self> names this process, else -1.
int proc_fd_number(const char* path, const char* leaf) {
  if (!path || std::strncmp(path, "/proc/", 6) != 0 || inside_bpfbox()) return -1;
  const char* p = path + 6;
  const char* slash = std::strchr(p, '/');
  if (!slash) return -1;
  const std::string who(p, slash);
  if (who != "self" && who != "thread-self" && who != std::to_string(getpid())) return -1;
  p = slash + 1;
  const size_t n = std::strlen(leaf);
  if (std::strncmp(p, leaf, n) != 0 || p[n] != '/') return -1;
  p += n + 1;
  if (*p < '0' || *p > '9') return -1;
  char* end = nullptr;
  const long fd = std::strtol(p, &end, 10);
  return *end == 0 && fd <= 0x7fffffff ? int(fd) : -1;
}

// A read-only file holding the fdinfo text of a bpfbox fd; -2 when `path` is not one (the caller
// opens it as usual), -1 with errno when the memfd cannot be made.
int open_fdinfo(const char* path, int flags) {
  const int fd = proc_fd_number(path, "fdinfo");
  if (fd < 0) return -2;
  const FdKind kind = fd_kind(fd);
  if (kind == FdKind::None) return -2;
  if ((flags & O_ACCMODE) != O_RDONLY) {
    errno = EACCES;  // fdinfo files are 0444
    return -1;
  }
  const std::string text = fdinfo_text(fd, kind);
  if (text.empty()) return -2;
  const int mfd = memfd_create("bpfbox-fdinfo", (flags & O_CLOEXEC) ? MFD_CLOEXEC : 0);
  if (mfd < 0) return -1;
  if (write(mfd, text.data(), text.size()) != ssize_t(text.size()) ||
      lseek(mfd, 0, SEEK_SET) != 0) {
    const int e = errno;
    using CloseFn = int (*)(int);
    static CloseFn real_close = real<CloseFn>("close");
    real_close(mfd);
    errno = e;
    return -1;
  }
  return mfd;
}

bool takes_mode(int flags) {
  return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
}

// The link text for a bpfbox fd's /proc/self/fd/N, null for every other path.
const char* fd_link(const char* path) {
  const int fd = proc_fd_number(path, "fd");
  return fd < 0 ? nullptr : anon_inode_name(fd_kind(fd));
}

ssize_t copy_link(const char* link, char* buf, size_t size) {
  const size_t n = std::min(std::strlen(link), size);  // readlink() does not terminate
  std::memcpy(buf, link, n);
  return ssize_t(n);
}

}  // namespace
}  // namespace bpfbox::shim

using bpfbox::shim::open_fdinfo;
using bpfbox::shim::real;
using bpfbox::shim::takes_mode;

#define BPFBOX_SHIM extern "C" __attribute__((visibility("default")))

// Paths given relative to a directory fd never name /proc/self/...: openat() and readlinkat() look
// at absolute paths only, as open_fdinfo() and fd_link() do.
// open/open64/openat/openat64 and the _FORTIFY_SOURCE entries (__open_2...) share one body.
#define BPFBOX_OPEN_SHIM(name)                             \
  BPFBOX_SHIM int name(const char* path, int flags, ...) { \
    mode_t mode = 0;                                       \
    if (takes_mode(flags)) {                               \
      va_list ap;                                          \
      va_start(ap, flags);                                 \
      mode = va_arg(ap, mode_t);                           \
      va_end(ap);                                          \
    }                                                      \
    const int r = open_fdinfo(path, flags);                \
    if (r != -2) return r;                                 \
    using Fn = int (*)(const char*, int, ...);             \
    static Fn fn = real<Fn>(#name);                        \
    return fn(path, flags, mode);                          \
  }
BPFBOX_OPEN_SHIM(open)
BPFBOX_OPEN_SHIM(open64)

#define BPFBOX_OPENAT_SHIM(name)                                      \
  BPFBOX_SHIM int name(int dirfd, const char* path, int flags, ...) { \
    mode_t mode = 0;                                                  \
    if (takes_mode(flags)) {                                          \
      va_list ap;                                                     \
      va_start(ap, flags);                                            \
      mode = va_arg(ap, mode_t);                                      \
      va_end(ap);                                                     \
    }                                                                 \
    const int r = open_fdinfo(path, flags);                           \
    if (r != -2) return r;                                            \
    using Fn = int (*)(int, const char*, int, ...);                   \
    static Fn fn = real<Fn>(#name);                                   \
    return fn(dirfd, path, flags, mode);                              \
  }
BPFBOX_OPENAT_SHIM(openat)
BPFBOX_OPENAT_SHIM(openat64)

BPFBOX_SHIM int __open_2(const char* path, int flags) {
  const int r = open_fdinfo(path, flags);
  if (r != -2) return r;
  using Fn = int (*)(const char*, int);
  static Fn fn = real<Fn>("__open_2");
  return fn(path, flags);
}

BPFBOX_SHIM int __open64_2(const char* path, int flags) {
  const int r = open_fdinfo(path, flags);
  if (r != -2) return r;
  using Fn = int (*)(const char*, int);
  static Fn fn = real<Fn>("__open64_2");
  return fn(path, flags);
}

// fopen() opens inside libc (no call to open() the shim could see): the fdinfo case is an fd
// from open_fdinfo() under a FILE.
#define BPFBOX_FOPEN_SHIM(name)                                                              \
  BPFBOX_SHIM FILE* name(const char* path, const char* mode) {                               \
    if (mode && mode[0] == 'r' && !std::strchr(mode, '+')) {                                 \
      const int fd = open_fdinfo(path, O_RDONLY | (std::strchr(mode, 'e') ? O_CLOEXEC : 0)); \
      if (fd == -1) return nullptr;                                                          \
      if (fd >= 0) return fdopen(fd, mode);                                                  \
    }                                                                                        \
    using Fn = FILE* (*)(const char*, const char*);                                          \
    static Fn fn = real<Fn>(#name);                                                          \
    return fn(path, mode);                                                                   \
  }
BPFBOX_FOPEN_SHIM(fopen)
BPFBOX_FOPEN_SHIM(fopen64)

BPFBOX_SHIM ssize_t readlink(const char* path, char* buf, size_t size) {
  if (const char* link = bpfbox::shim::fd_link(path))
    return bpfbox::shim::copy_link(link, buf, size);
  using Fn = ssize_t (*)(const char*, char*, size_t);
  static Fn fn = real<Fn>("readlink");
  return fn(path, buf, size);
}

BPFBOX_SHIM ssize_t readlinkat(int dirfd, const char* path, char* buf, size_t size) {
  if (const char* link = bpfbox::shim::fd_link(path))
    return bpfbox::shim::copy_link(link, buf, size);
  using Fn = ssize_t (*)(int, const char*, char*, size_t);
  static Fn fn = real<Fn>("readlinkat");
  return fn(dirfd, path, buf, size);
}
