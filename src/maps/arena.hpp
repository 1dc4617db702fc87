// Shareable memory for one map: a file mapped MAP_SHARED. Pages are allocated on first touch, so
// a large max_entries costs address space, not memory, until elements are used. The file is a
// memfd, or, when a storage directory is set (set_storage_dir), an unnamed O_TMPFILE file in it
// that pinning can link to a name (link_storage) so the map outlives its processes.
#pragma once

#include <cstdint>
#include <string>

#include "bpfbox/status.hpp"

namespace bpfbox::maps {

struct Arena {
  int fd = -1;
  uint8_t* base = nullptr;
  uint64_t size = 0;

  // Zero-filled. Map storage follows the storage directory; process-private structures that are
  // shared only by fork (the default run domain) stay memfds.
  enum class Backing { Memfd, Storage };
  static Result<Arena> create(const char* name, uint64_t size, Backing backing = Backing::Memfd);
  static Result<Arena> attach(int fd);  // maps an existing memfd or storage file
  void release();                       // unmaps and closes
};

// The directory set_storage_dir() chose (canonical), "" for memfds. set_storage_dir (in
// run_domain.cpp, as the directory also decides the run domain) checks a directory with
// check_storage_dir, then records it with set_storage_path.
std::string storage_dir();
Status check_storage_dir(const std::string& dir);
void set_storage_path(const std::string& dir);

// mmap of a map's storage file, straight to the kernel: a storage file is also what a map fd is,
// so an interposed mmap() (bpfbox's shim serves mmap of map fds) would take the maps layer's own
// mapping for a user's when a map is made outside bpf(), e.g. by `bpfbox verify --map`.
void* storage_mmap(void* addr, uint64_t len, int prot, int flags, int fd, uint64_t off);

constexpr uint64_t kPageSize = 4096;
constexpr uint64_t round_up(uint64_t v, uint64_t a) {
  return (v + a - 1) / a * a;
}

}  // namespace bpfbox::maps
