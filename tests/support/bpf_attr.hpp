// union bpf_attr for the commands tests and benchmarks issue, built in one place (no GoogleTest,
// so benchmarks and the maps-only TSan build use it too): each builder zeroes the attr, as the
// kernel's CHECK_ATTR wants every byte past the command's fields to be, and fills the command's
// fields. Pointers go in as the u64 the attr holds (uptr), so tests can pass bad addresses too.
#pragma once

#include <linux/bpf.h>

#include <cstdint>
#include <cstring>
#include <span>

namespace bpfbox::testsupport {

// A pointer as the u64 attr fields hold it.
inline uint64_t uptr(const void* p) {
  return reinterpret_cast<uint64_t>(p);
}

inline union bpf_attr zeroed_attr() {
  union bpf_attr a;
  std::memset(&a, 0, sizeof a);
  return a;
}

// BPF_MAP_CREATE.
inline union bpf_attr map_create_attr(uint32_t type, uint32_t key_size, uint32_t value_size,
                                      uint32_t max_entries, uint32_t flags = 0,
                                      uint32_t inner_map_fd = 0) {
  union bpf_attr a = zeroed_attr();
  a.map_type = type;
  a.key_size = key_size;
  a.value_size = value_size;
  a.max_entries = max_entries;
  a.map_flags = flags;
  a.inner_map_fd = inner_map_fd;
  return a;
}

// BPF_MAP_LOOKUP_ELEM / UPDATE_ELEM / DELETE_ELEM / LOOKUP_AND_DELETE_ELEM (value: the value, or
// for GET_NEXT_KEY the next key's buffer, which shares its place in the union).
inline union bpf_attr elem_attr(int map_fd, const void* key, const void* value,
                                uint64_t flags = 0) {
  union bpf_attr a = zeroed_attr();
  a.map_fd = uint32_t(map_fd);
  a.key = uptr(key);
  a.value = uptr(value);
  a.flags = flags;
  return a;
}

// BPF_MAP_*_BATCH: buffers as u64.
inline union bpf_attr batch_attr(int map_fd, uint64_t keys, uint64_t values, uint32_t count,
                                 uint64_t out_batch = 0, uint64_t in_batch = 0) {
  union bpf_attr a = zeroed_attr();
  a.batch.map_fd = uint32_t(map_fd);
  a.batch.keys = keys;
  a.batch.values = values;
  a.batch.count = count;
  a.batch.out_batch = out_batch;
  a.batch.in_batch = in_batch;
  return a;
}

// BPF_PROG_LOAD of `insns`, which must outlive the attr (as must a license other than "GPL").
inline union bpf_attr prog_load_attr(uint32_t type, std::span<const bpf_insn> insns,
                                     const char* name = "", const char* license = "GPL") {
  union bpf_attr a = zeroed_attr();
  a.prog_type = type;
  a.insns = uptr(insns.data());
  a.insn_cnt = uint32_t(insns.size());
  a.license = uptr(license);
  std::strncpy(a.prog_name, name, sizeof a.prog_name - 1);
  return a;
}

// BPF_PROG_TEST_RUN with `data` as the packet (data_out: the packet's size back into data).
inline union bpf_attr test_run_attr(int prog_fd, const void* data, uint32_t size,
                                    uint32_t repeat = 0) {
  union bpf_attr a = zeroed_attr();
  a.test.prog_fd = uint32_t(prog_fd);
  a.test.data_in = uptr(data);
  a.test.data_size_in = size;
  a.test.repeat = repeat;
  return a;
}

// BPF_OBJ_GET_INFO_BY_FD of `len` bytes into `info`.
inline union bpf_attr info_attr(int fd, void* info, uint32_t len) {
  union bpf_attr a = zeroed_attr();
  a.info.bpf_fd = uint32_t(fd);
  a.info.info_len = len;
  a.info.info = uptr(info);
  return a;
}

}  // namespace bpfbox::testsupport
