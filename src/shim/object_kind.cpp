#include "shim/object_kind.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cerrno>
#include <cstring>
#include <string>

#include "bpfbox/bpf.h"
#include "shim/real.hpp"
#include "sys/btf.hpp"
#include "sys/link.hpp"
#include "sys/perf_events.hpp"
#include "sys/prog.hpp"

namespace bpfbox::shim {
namespace {

struct KindEntry {
  const char* magic;  // 8 bytes
  FdKind kind;
  const char* anon_inode;
};

// The map header's magic is the maps layer's, the others src/sys's.
constexpr char kMapMagic[8] = {'B', 'F', 'B', 'O', 'X', 'M', 'A', 'P'};

constexpr KindEntry kKinds[] = {
    {kMapMagic, FdKind::Map, "anon_inode:bpf-map"},
    {sys::kProgMagic, FdKind::Prog, "anon_inode:bpf-prog"},
    {sys::kBtfMagic, FdKind::Btf, "anon_inode:btf"},
    {sys::kLinkMagic, FdKind::Link, "anon_inode:bpf-link"},
    {sys::kPerfEventMagic, FdKind::PerfEvent, "anon_inode:[perf_event]"},
};

// Whether a write-only fd may be a bpfbox object, before opening its file again to read it: its
// file is in the runtime dir (object files, pins) or a memfd (maps without a runtime dir). Keeps
// the program's own write-only files (logs...) from being reopened at each close().
bool maybe_bpfbox_file(int fd) {
  InBpfbox in;  // readlinkat() of /proc/self/fd is interposed too; resolving the runtime dir may
                // create it
  char link[PATH_MAX];
  const ssize_t n =
      readlinkat(AT_FDCWD, ("/proc/self/fd/" + std::to_string(fd)).c_str(), link, sizeof link - 1);
  if (n <= 0) return false;
  const std::string path(link, size_t(n));
  if (path.rfind("/memfd:", 0) == 0) return true;
  const std::string dir = bpfbox_runtime_dir();
  return !dir.empty() && path.compare(0, dir.size(), dir) == 0 &&
         (path.size() == dir.size() || path[dir.size()] == '/');
}

bool read_magic(int fd, char (&magic)[8]) {
  if (pread(fd, magic, sizeof magic, 0) == ssize_t(sizeof magic)) return true;
  if (errno != EBADF || !maybe_bpfbox_file(fd)) return false;
  // A write-only fd (BPF_F_WRONLY): read through a new description of the same file.
  using OpenFn = int (*)(const char*, int, ...);
  static OpenFn real_open = real<OpenFn>("open");
  using CloseFn = int (*)(int);
  static CloseFn real_close = real<CloseFn>("close");
  const int rfd = real_open(("/proc/self/fd/" + std::to_string(fd)).c_str(), O_RDONLY | O_CLOEXEC);
  if (rfd < 0) return false;
  const bool ok = pread(rfd, magic, sizeof magic, 0) == ssize_t(sizeof magic);
  real_close(rfd);
  return ok;
}

}  // namespace

FdKind kind_of_magic(const char (&magic)[8]) {
  for (const KindEntry& k : kKinds)
    if (std::memcmp(magic, k.magic, sizeof magic) == 0) return k.kind;
  return FdKind::None;
}

FdKind fd_kind(int fd) {
  struct stat st {};
  if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 8) return FdKind::None;
  const int saved = errno;
  char magic[8];
  const FdKind kind = read_magic(fd, magic) ? kind_of_magic(magic) : FdKind::None;
  errno = saved;
  return kind;
}

const char* anon_inode_name(FdKind kind) {
  for (const KindEntry& k : kKinds)
    if (k.kind == kind) return k.anon_inode;
  return nullptr;
}

}  // namespace bpfbox::shim
