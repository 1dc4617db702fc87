// BPF_MAP_CREATE cases with the errno Linux gives (checked against the kernel by kernel_diff).
#pragma once

#include <cstring>

#include "map_test_util.hpp"

namespace bpfbox::maps::testing {

struct CreateCase {
  const char* name;
  uint32_t type, key_size, value_size, max_entries, flags;
  uint64_t extra;
  const char* map_name;
  long expect;  // 0 or -errno
  union bpf_attr attr() const {
    return map_attr(type, key_size, value_size, max_entries, flags, extra, map_name);
  }
};

constexpr int kNotSupp = 524;

inline const CreateCase kCreateCases[] = {
    {"array_ok", BPF_MAP_TYPE_ARRAY, 4, 8, 16, 0, 0, "", 0},
    {"array_key8", BPF_MAP_TYPE_ARRAY, 8, 8, 16, 0, 0, "", -EINVAL},
    {"array_value0", BPF_MAP_TYPE_ARRAY, 4, 0, 16, 0, 0, "", -EINVAL},
    {"array_max0", BPF_MAP_TYPE_ARRAY, 4, 8, 0, 0, 0, "", -EINVAL},
    {"array_no_prealloc", BPF_MAP_TYPE_ARRAY, 4, 8, 1, BPF_F_NO_PREALLOC, 0, "", -EINVAL},
    {"array_zero_seed", BPF_MAP_TYPE_ARRAY, 4, 8, 1, BPF_F_ZERO_SEED, 0, "", -EINVAL},
    {"array_mmapable", BPF_MAP_TYPE_ARRAY, 4, 8, 1, BPF_F_MMAPABLE, 0, "", 0},
    {"array_inner_map", BPF_MAP_TYPE_ARRAY, 4, 8, 1, BPF_F_INNER_MAP, 0, "", 0},
    {"array_preserve", BPF_MAP_TYPE_ARRAY, 4, 8, 1, BPF_F_PRESERVE_ELEMS, 0, "", -EINVAL},
    {"array_rdonly_wronly", BPF_MAP_TYPE_ARRAY, 4, 8, 1, BPF_F_RDONLY | BPF_F_WRONLY, 0, "",
     -EINVAL},
    {"array_prog_rdonly_wronly", BPF_MAP_TYPE_ARRAY, 4, 8, 1, BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG,
     0, "", -EINVAL},
    {"array_rdonly_prog", BPF_MAP_TYPE_ARRAY, 4, 8, 1, BPF_F_RDONLY_PROG, 0, "", 0},
    {"array_extra", BPF_MAP_TYPE_ARRAY, 4, 8, 1, 0, 1, "", -EINVAL},
    {"array_big_value", BPF_MAP_TYPE_ARRAY, 4, 1u << 30, 1, 0, 0, "", 0},
    {"percpu_array_ok", BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 16, 0, 0, "", 0},
    {"percpu_array_32k", BPF_MAP_TYPE_PERCPU_ARRAY, 4, 32768, 1, 0, 0, "", 0},
    {"percpu_array_32k_plus", BPF_MAP_TYPE_PERCPU_ARRAY, 4, 32769, 1, 0, 0, "", -E2BIG},
    {"percpu_array_mmapable", BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 1, BPF_F_MMAPABLE, 0, "", -EINVAL},
    {"hash_ok", BPF_MAP_TYPE_HASH, 4, 8, 16, 0, 0, "", 0},
    {"hash_key0", BPF_MAP_TYPE_HASH, 0, 8, 16, 0, 0, "", -EINVAL},
    {"hash_value0", BPF_MAP_TYPE_HASH, 4, 0, 16, 0, 0, "", -EINVAL},
    {"hash_max0", BPF_MAP_TYPE_HASH, 4, 8, 0, 0, 0, "", -EINVAL},
    {"hash_no_prealloc", BPF_MAP_TYPE_HASH, 4, 8, 16, BPF_F_NO_PREALLOC, 0, "", 0},
    {"hash_zero_seed", BPF_MAP_TYPE_HASH, 4, 8, 16, BPF_F_ZERO_SEED, 0, "", 0},
    {"hash_no_common_lru", BPF_MAP_TYPE_HASH, 4, 8, 16, BPF_F_NO_COMMON_LRU, 0, "", -EINVAL},
    {"hash_mmapable", BPF_MAP_TYPE_HASH, 4, 8, 16, BPF_F_MMAPABLE, 0, "", -EINVAL},
    {"hash_inner_map", BPF_MAP_TYPE_HASH, 4, 8, 16, BPF_F_INNER_MAP, 0, "", -EINVAL},
    {"hash_extra", BPF_MAP_TYPE_HASH, 4, 8, 16, 0, 3, "", -EINVAL},
    {"hash_key_64k", BPF_MAP_TYPE_HASH, 65536, 8, 1, 0, 0, "", 0},
    {"hash_value_1m", BPF_MAP_TYPE_HASH, 4, 1u << 20, 4, BPF_F_NO_PREALLOC, 0, "", 0},
    {"hash_value_8m", BPF_MAP_TYPE_HASH, 4, 1u << 23, 4, BPF_F_NO_PREALLOC, 0, "", -E2BIG},
    {"hash_max_2g", BPF_MAP_TYPE_HASH, 4, 8, 1u << 31, BPF_F_NO_PREALLOC, 0, "", -E2BIG},
    {"percpu_hash_ok", BPF_MAP_TYPE_PERCPU_HASH, 4, 8, 16, 0, 0, "", 0},
    {"percpu_hash_40k", BPF_MAP_TYPE_PERCPU_HASH, 4, 40000, 4, 0, 0, "", -E2BIG},
    {"lru_ok", BPF_MAP_TYPE_LRU_HASH, 4, 8, 16, 0, 0, "", 0},
    {"lru_no_common", BPF_MAP_TYPE_LRU_HASH, 4, 8, 16, BPF_F_NO_COMMON_LRU, 0, "", 0},
    {"lru_no_prealloc", BPF_MAP_TYPE_LRU_HASH, 4, 8, 16, BPF_F_NO_PREALLOC, 0, "", -kNotSupp},
    {"lru_percpu_ok", BPF_MAP_TYPE_LRU_PERCPU_HASH, 4, 8, 16, 0, 0, "", 0},
    {"lru_percpu_numa_nocommon", BPF_MAP_TYPE_LRU_PERCPU_HASH, 4, 8, 16,
     BPF_F_NO_COMMON_LRU | BPF_F_NUMA_NODE, 0, "", -EINVAL},
    {"queue_ok", BPF_MAP_TYPE_QUEUE, 0, 8, 16, 0, 0, "", 0},
    {"queue_key", BPF_MAP_TYPE_QUEUE, 4, 8, 16, 0, 0, "", -EINVAL},
    {"stack_no_prealloc", BPF_MAP_TYPE_STACK, 0, 8, 16, BPF_F_NO_PREALLOC, 0, "", -EINVAL},
    {"bloom_ok", BPF_MAP_TYPE_BLOOM_FILTER, 0, 8, 16, 0, 3, "", 0},
    {"bloom_extra_16", BPF_MAP_TYPE_BLOOM_FILTER, 0, 8, 16, 0, 16, "", -EINVAL},
    {"bloom_key", BPF_MAP_TYPE_BLOOM_FILTER, 4, 8, 16, 0, 0, "", -EINVAL},
    {"bloom_zero_seed", BPF_MAP_TYPE_BLOOM_FILTER, 0, 8, 16, BPF_F_ZERO_SEED, 0, "", 0},
    {"ringbuf_ok", BPF_MAP_TYPE_RINGBUF, 0, 0, 4096, 0, 0, "", 0},
    {"ringbuf_not_pow2", BPF_MAP_TYPE_RINGBUF, 0, 0, 4097, 0, 0, "", -EINVAL},
    {"ringbuf_sub_page", BPF_MAP_TYPE_RINGBUF, 0, 0, 2048, 0, 0, "", -EINVAL},
    {"ringbuf_key", BPF_MAP_TYPE_RINGBUF, 4, 0, 4096, 0, 0, "", -EINVAL},
    {"ringbuf_flags", BPF_MAP_TYPE_RINGBUF, 0, 0, 4096, BPF_F_RDONLY_PROG, 0, "", -EINVAL},
    {"devmap_ok", BPF_MAP_TYPE_DEVMAP, 4, 8, 16, 0, 0, "", 0},
    {"devmap_value4", BPF_MAP_TYPE_DEVMAP, 4, 4, 16, 0, 0, "", 0},
    {"devmap_value6", BPF_MAP_TYPE_DEVMAP, 4, 6, 16, 0, 0, "", -EINVAL},
    {"devmap_key8", BPF_MAP_TYPE_DEVMAP, 8, 8, 16, 0, 0, "", -EINVAL},
    {"devmap_no_prealloc", BPF_MAP_TYPE_DEVMAP, 4, 8, 16, BPF_F_NO_PREALLOC, 0, "", -EINVAL},
    {"devmap_hash_ok", BPF_MAP_TYPE_DEVMAP_HASH, 4, 8, 16, 0, 0, "", 0},
    {"devmap_hash_key8", BPF_MAP_TYPE_DEVMAP_HASH, 8, 8, 16, 0, 0, "", -EINVAL},
    {"lpm_ok", BPF_MAP_TYPE_LPM_TRIE, 8, 4, 16, BPF_F_NO_PREALLOC, 0, "", 0},
    {"lpm_prealloc", BPF_MAP_TYPE_LPM_TRIE, 8, 4, 16, 0, 0, "", -EINVAL},
    {"lpm_key4", BPF_MAP_TYPE_LPM_TRIE, 4, 4, 16, BPF_F_NO_PREALLOC, 0, "", -EINVAL},
    {"lpm_key260", BPF_MAP_TYPE_LPM_TRIE, 260, 4, 16, BPF_F_NO_PREALLOC, 0, "", 0},
    {"lpm_key261", BPF_MAP_TYPE_LPM_TRIE, 261, 4, 16, BPF_F_NO_PREALLOC, 0, "", -EINVAL},
    {"lpm_value0", BPF_MAP_TYPE_LPM_TRIE, 8, 0, 16, BPF_F_NO_PREALLOC, 0, "", -EINVAL},
    {"name_ok", BPF_MAP_TYPE_ARRAY, 4, 4, 1, 0, 0, "ok.name_1", 0},
    {"name_dash", BPF_MAP_TYPE_ARRAY, 4, 4, 1, 0, 0, "a-b", -EINVAL},
    {"type_unspec", BPF_MAP_TYPE_UNSPEC, 4, 8, 4, 0, 0, "", -EINVAL},
    {"type_40", 40, 4, 8, 4, 0, 0, "", -EINVAL},
};

// 16 name characters, no NUL: refused.
inline union bpf_attr unterminated_name_attr() {
  union bpf_attr a = map_attr(BPF_MAP_TYPE_ARRAY, 4, 4, 1);
  std::memcpy(a.map_name, "0123456789abcdef", 16);
  return a;
}

}  // namespace bpfbox::maps::testing
