// Helpers for the maps tests: attr builders and a thin bpf() wrapper for the kernel oracle.
#pragma once

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include <linux/bpf.h>

#include "bpf_attr.hpp"
#include "bpfbox/maps.hpp"

namespace bpfbox::maps::testing {

inline union bpf_attr map_attr(uint32_t type, uint32_t key_size, uint32_t value_size,
                               uint32_t max_entries, uint32_t flags = 0, uint64_t extra = 0,
                               const char* name = "") {
  union bpf_attr a = testsupport::map_create_attr(type, key_size, value_size, max_entries, flags);
  a.map_extra = extra;
  std::memcpy(a.map_name, name, std::min(std::strlen(name), sizeof a.map_name));
  return a;
}

inline std::shared_ptr<Map> make_map(uint32_t type, uint32_t key_size, uint32_t value_size,
                                     uint32_t max_entries, uint32_t flags = 0) {
  auto r = Map::create(map_attr(type, key_size, value_size, max_entries, flags));
  if (!r) return nullptr;
  return *r;
}

// The kernel's map, through bpf(2). Every call returns 0/fd or -errno.
class KernelMap {
 public:
  static long sys(int cmd, union bpf_attr* a) {
    long r = syscall(__NR_bpf, cmd, a, sizeof(*a));
    return r < 0 ? -errno : r;
  }
  // Whether bpf() works here; the reason when it does not.
  static bool available(std::string* why) {
    union bpf_attr a = map_attr(BPF_MAP_TYPE_ARRAY, 4, 4, 1);
    long fd = sys(BPF_MAP_CREATE, &a);
    if (fd >= 0) {
      close(static_cast<int>(fd));
      return true;
    }
    *why = std::string("bpf(BPF_MAP_CREATE) refused: ") + std::strerror(static_cast<int>(-fd));
    return false;
  }

  explicit KernelMap(union bpf_attr a) { fd_ = sys(BPF_MAP_CREATE, &a); }
  ~KernelMap() {
    if (fd_ >= 0) close(static_cast<int>(fd_));
  }
  KernelMap(const KernelMap&) = delete;
  KernelMap& operator=(const KernelMap&) = delete;
  long fd() const { return fd_; }

  long lookup(const void* k, void* v, uint64_t flags = 0) const {
    return elem(BPF_MAP_LOOKUP_ELEM, k, v, flags);
  }
  long update(const void* k, const void* v, uint64_t flags = 0) const {
    return elem(BPF_MAP_UPDATE_ELEM, k, const_cast<void*>(v), flags);
  }
  long remove(const void* k) const { return elem(BPF_MAP_DELETE_ELEM, k, nullptr, 0); }
  long lookup_and_delete(const void* k, void* v, uint64_t flags = 0) const {
    return elem(BPF_MAP_LOOKUP_AND_DELETE_ELEM, k, v, flags);
  }
  long get_next_key(const void* k, void* next) const {
    return elem(BPF_MAP_GET_NEXT_KEY, k, next, 0);  // next_key shares value's place
  }
  // BPF_MAP_*_BATCH: cmd is the batch command; count is in/out.
  long batch(int cmd, const void* in, void* out, void* keys, void* values, uint32_t* count,
             uint64_t elem_flags = 0, uint64_t flags = 0) const {
    using testsupport::uptr;
    union bpf_attr a =
        testsupport::batch_attr(int(fd_), uptr(keys), uptr(values), *count, uptr(out), uptr(in));
    a.batch.elem_flags = elem_flags;
    a.batch.flags = flags;
    long r = sys(cmd, &a);
    *count = a.batch.count;
    return r;
  }
  long freeze() const { return elem(BPF_MAP_FREEZE, nullptr, nullptr, 0); }

 private:
  long elem(int cmd, const void* k, void* v, uint64_t flags) const {
    union bpf_attr a = testsupport::elem_attr(int(fd_), k, v, flags);
    return sys(cmd, &a);
  }
  long fd_;
};

// -errno of a bpfbox Status, like the kernel wrapper's results.
inline long rc(const Status& st) {
  return st ? 0 : -st.err();
}

}  // namespace bpfbox::maps::testing
