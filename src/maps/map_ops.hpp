// The map ops table: what each map family implements, as the kernel's struct bpf_map_ops. One
// table per BPF_MAP_TYPE_*, registered in map_types.cpp. Syscall-side entries return a Status with
// the kernel's errno; map.cpp has already applied the generic checks (permissions, frozen, flags
// common to all types) so that each family checks only what the kernel's family checks.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>

#include "bpfbox/maps.hpp"
#include "maps/arena.hpp"
#include "maps/spin_lock.hpp"

namespace bpfbox::maps {

// What a map-in-map checks inner maps against (the kernel's inner_map_meta), from inner_map_fd.
struct InnerMapMeta {
  uint32_t map_type;
  uint32_t key_size;
  uint32_t value_size;
  uint32_t map_flags;  // without BPF_F_RDONLY/WRONLY, which are fd permissions
  uint32_t max_entries;
  // The inner map's struct bpf_spin_lock offset + 1, 0 for none (the kernel's record, compared by
  // bpf_map_meta_equal). Arenas made before it was kept hold 0 here.
  uint32_t spin_lock_plus1;
  int32_t spin_lock_off() const { return int32_t(spin_lock_plus1) - 1; }
};

// The map_create attributes a family sees.
struct MapAttr {
  uint32_t map_type = 0;
  uint32_t key_size = 0;
  uint32_t value_size = 0;
  uint32_t max_entries = 0;
  uint32_t map_flags = 0;
  uint32_t inner_map_fd = 0;
  uint32_t numa_node = 0;
  uint64_t map_extra = 0;
  uint32_t nr_cpus = 1;  // value slots: nr_possible_cpus() for per-CPU maps, else 1
  uint32_t nr_cpus_possible = 1;
  int32_t spin_lock_off = -1;
  ObjectTable* objects = nullptr;  // resolves fds (inner_map_fd, values of fd-holding maps)
  InnerMapMeta inner{};            // map-in-map: filled by the family's resolve()
};

// The start of every arena: enough to rebuild the Map in another process.
struct MapHeader {
  static constexpr uint64_t kMagic = 0x50414d584f424642ull;  // "BFBOXMAP"
  static constexpr uint32_t kVersion = 4;
  static constexpr uint32_t kFrozen = 1u << 31;  // freeze_state: frozen, else writable mappings
  uint64_t magic;
  uint32_t version;
  uint32_t map_type;
  uint32_t key_size;
  uint32_t value_size;
  uint32_t max_entries;
  uint32_t map_flags;
  uint64_t map_extra;
  char name[BPF_OBJ_NAME_LEN];
  uint32_t nr_cpus;
  int32_t spin_lock_off;
  std::atomic<uint32_t> freeze_state;  // kFrozen | count of writable mappings
  uint32_t reserved;
  uint64_t family_off;  // families wrapping another (HASH_OF_MAPS): where their own part starts
  uint64_t domain_id;   // the RunDomain whose runs may hold this map's elements (its id())
};
// The family's layout starts here.
constexpr uint64_t kMapHeaderSize = 128;
// The last page of every arena: the storage directory whose run domain the map belongs to
// (NUL-terminated), empty for a process's memfd domain. A process attaching the map joins it.
constexpr uint64_t kMapTrailerSize = 4096;
static_assert(sizeof(MapHeader) <= kMapHeaderSize);

inline MapHeader* header_of(const Map& m) {
  return reinterpret_cast<MapHeader*>(m.arena_base());
}

struct MapOps {
  const char* name;  // "BPF_MAP_TYPE_HASH"
  // Attribute checks (the kernel's map_alloc_check), then the arena size the map needs.
  Status (*alloc_check)(const MapAttr& attr) = nullptr;
  // After alloc_check: resolves fds the attributes name (inner_map_fd), as the kernel's map_alloc.
  Status (*resolve)(MapAttr& attr) = nullptr;
  Result<uint64_t> (*arena_size)(const MapAttr& attr) = nullptr;
  // Lays out a fresh, zeroed arena (base is the arena start; the family's part follows the
  // MapHeader at base + kMapHeaderSize).
  void (*init)(const MapAttr& attr, uint8_t* base) = nullptr;
  // Builds the process-local view (map.impl, program ops, inline info); unbind frees it.
  void (*bind)(Map& map) = nullptr;
  void (*unbind)(Map& map) = nullptr;

  // Syscall side; nullptr means the kernel's answer for a type without the command.
  Status (*lookup)(Map& map, const void* key, void* value, uint64_t flags) = nullptr;
  Status (*update)(Map& map, const void* key, const void* value, uint64_t flags) = nullptr;
  Status (*delete_elem)(Map& map, const void* key) = nullptr;
  Status (*get_next_key)(Map& map, const void* key, void* next_key) = nullptr;
  Status (*lookup_and_delete)(Map& map, const void* key, void* value, uint64_t flags) = nullptr;
  // QUEUE, STACK, BLOOM_FILTER: the syscall layer maps update/lookup/lookup_and_delete to these.
  Status (*push)(Map& map, const void* value, uint64_t flags) = nullptr;
  Status (*pop)(Map& map, void* value) = nullptr;
  Status (*peek)(Map& map, void* value) = nullptr;
  // The arena part user space may mmap (BPF_F_MMAPABLE arrays, ring buffers).
  Result<MmapRegion> (*mmap_region)(const Map& map) = nullptr;
  // Batches (BPF_MAP_*_BATCH). A family the kernel gives a lookup batch either has its own
  // (hash maps: a bucket cursor) or uses the generic one (a key cursor walked with get_next_key).
  Status (*lookup_batch)(Map& map, const void* in_batch, void* out_batch, void* keys, void* values,
                         uint32_t* count, uint64_t elem_flags, bool and_delete) = nullptr;
  uint8_t batch_ops = 0;  // kBatch* bits: which batch commands the kernel has for the type
  // Errno for commands the type lacks: delete on an array is EINVAL, on a bloom filter EOPNOTSUPP.
  int missing_delete_errno = EINVAL;
  int missing_get_next_key_errno = EINVAL;
};

constexpr uint8_t kBatchLookup = 1, kBatchLookupAndDelete = 2, kBatchUpdate = 4, kBatchDelete = 8;
constexpr uint8_t kBatchAll = kBatchLookup | kBatchLookupAndDelete | kBatchUpdate | kBatchDelete;

const MapOps* map_ops_for(uint32_t map_type);  // nullptr for an unknown type

// Lets families fill the Map's engine-facing fields.
struct MapBuilder {
  static void set_prog(Map& m, const ProgOps& p) { m.prog_ = p; }
  static void set_inline(Map& m, const InlineArray& a) { m.inline_ = a; }
  // ARRAY_OF_MAPS, HASH_OF_MAPS (at bind): the inner map template built from meta (map.cpp).
  static void set_inner_map_meta(Map& m, const InnerMapMeta& meta);
};

// Value copies that leave a struct bpf_spin_lock (4 bytes at spin_lock_off) alone, as the kernel's
// copy_map_value.
inline void copy_value(void* dst, const void* src, uint32_t size, int32_t spin_lock_off) {
  if (spin_lock_off < 0) {
    std::memcpy(dst, src, size);
    return;
  }
  auto* d = static_cast<uint8_t*>(dst);
  auto* s = static_cast<const uint8_t*>(src);
  uint32_t off = static_cast<uint32_t>(spin_lock_off);
  std::memcpy(d, s, off);
  std::memcpy(d + off + 4, s + off + 4, size - off - 4);
}

// The value's struct bpf_spin_lock as a lock word (BPF_F_LOCK).
inline SpinLock& value_lock(void* value, int32_t spin_lock_off) {
  return *reinterpret_cast<SpinLock*>(static_cast<uint8_t*>(value) + spin_lock_off);
}

// A copy into or out of a map value, under the value's lock for BPF_F_LOCK (`locked` is the map's
// copy of the value, whose lock is taken).
inline void copy_value_flags(void* dst, const void* src, uint32_t size, int32_t spin_lock_off,
                             uint64_t flags, void* locked) {
  if ((flags & BPF_F_LOCK) && spin_lock_off >= 0) {
    SpinGuard g(value_lock(locked, spin_lock_off));
    copy_value(dst, src, size, spin_lock_off);
  } else {
    copy_value(dst, src, size, spin_lock_off);
  }
}

constexpr uint32_t round8(uint32_t v) {
  return (v + 7u) & ~7u;
}

// Checks shared by several families.
inline bool access_flags_ok(uint32_t flags) {
  return (flags & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)) !=
         (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG);
}
constexpr uint32_t kAccessMask =
    BPF_F_RDONLY | BPF_F_RDONLY_PROG | BPF_F_WRONLY | BPF_F_WRONLY_PROG;

// The kernel's KMALLOC_MAX_SIZE on x86-64 (4 MiB pages << 10 ... = 1 << 22 with SLUB: order 10).
constexpr uint64_t kKmallocMaxSize = uint64_t(1) << 22;
// PCPU_MIN_UNIT_SIZE: the largest per-CPU value.
constexpr uint32_t kPcpuMinUnitSize = 32 << 10;

// Registered families (one definition per file).
extern const MapOps kArrayOps, kPercpuArrayOps;
extern const MapOps kHashOps, kPercpuHashOps, kLruHashOps, kLruPercpuHashOps;
extern const MapOps kQueueOps, kStackOps;
extern const MapOps kBloomFilterOps;
extern const MapOps kRingbufOps;
extern const MapOps kLpmTrieOps;
extern const MapOps kDevmapOps, kDevmapHashOps;
extern const MapOps kProgArrayOps, kArrayOfMapsOps, kPerfEventArrayOps;
extern const MapOps kHashOfMapsOps;

// ARRAY and PERCPU_ARRAY: the element layout of the map's values (array_map.cpp), base unset.
InlineArray array_layout(const Map& m);

// Hash maps' lookup batch with the kernel's bucket cursor (hash_map.cpp).
Status hash_lookup_batch(Map& map, const void* in_batch, void* out_batch, void* keys, void* values,
                         uint32_t* count, uint64_t elem_flags, bool and_delete);
// For tests: the bucket lock an update of `key` takes in a hash map (hash_map.cpp).
SpinLock& hash_bucket_lock(Map& map, const void* key);

// Device map values (devmap.cpp): creation checks, and a struct bpf_devmap_val checked and turned
// into what lookups return (ifindex, prog id).
Status devmap_alloc_check(const MapAttr& a);
Result<uint64_t> devmap_value(const Map& m, const void* value);

}  // namespace bpfbox::maps
