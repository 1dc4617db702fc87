// BPF_MAP_TYPE_ARRAY and BPF_MAP_TYPE_PERCPU_ARRAY (the kernel's arraymap.c).
//
// Layout: the values start at the arena's second page (so BPF_F_MMAPABLE arrays can be mmapped
// from a page boundary): max_entries elements of round_up(value_size, 8) bytes, or for per-CPU
// arrays max_entries groups of nr_cpus such slots. Elements never move, so lookups are an index
// computation that engines may inline (Map::inline_array()).
#include <bit>
#include <climits>
#include <string>

#include "maps/map_ops.hpp"

namespace bpfbox::maps {

namespace {

constexpr uint64_t kDataOff = kPageSize;
constexpr uint32_t kCreateFlags =
    BPF_F_NUMA_NODE | BPF_F_MMAPABLE | kAccessMask | BPF_F_PRESERVE_ELEMS | BPF_F_INNER_MAP;

bool is_percpu(uint32_t type) {
  return type == BPF_MAP_TYPE_PERCPU_ARRAY;
}

Status alloc_check(const MapAttr& a) {
  bool percpu = is_percpu(a.map_type);
  if (a.max_entries == 0) return Status(EINVAL, "max_entries must be > 0");
  if (a.key_size != 4)
    return Status(EINVAL, "array maps need key_size 4, got " + std::to_string(a.key_size));
  if (a.value_size == 0) return Status(EINVAL, "value_size must be > 0");
  if (a.map_flags & ~kCreateFlags) return Status(EINVAL, "unsupported map_flags for an array");
  if (!access_flags_ok(a.map_flags))
    return Status(EINVAL, "BPF_F_RDONLY_PROG and BPF_F_WRONLY_PROG are mutually exclusive");
  if (percpu && (a.map_flags & BPF_F_NUMA_NODE))
    return Status(EINVAL, "per-CPU arrays take no NUMA node");
  if (a.map_type != BPF_MAP_TYPE_ARRAY && (a.map_flags & (BPF_F_MMAPABLE | BPF_F_INNER_MAP)))
    return Status(EINVAL, "BPF_F_MMAPABLE and BPF_F_INNER_MAP are for BPF_MAP_TYPE_ARRAY only");
  if (a.map_flags & BPF_F_PRESERVE_ELEMS)
    return Status(EINVAL, "BPF_F_PRESERVE_ELEMS is for BPF_MAP_TYPE_PERF_EVENT_ARRAY only");
  if (a.value_size > INT_MAX) return Status(E2BIG, "value_size too large");
  if (percpu && round8(a.value_size) > kPcpuMinUnitSize)
    return Status(E2BIG, "per-CPU values are limited to 32 KiB");
  return Status::ok();
}

// Spectre v1: the storage is padded to a power of two of elements (InlineArray::index_mask).
uint64_t padded_entries(uint32_t max_entries) {
  return max_entries <= (1u << 31) ? std::bit_ceil(max_entries) : max_entries;
}
uint32_t index_mask(uint32_t max_entries) {
  return max_entries <= (1u << 31) ? std::bit_ceil(max_entries) - 1 : UINT32_MAX;
}

uint64_t data_size(const MapAttr& a) {
  uint64_t size = padded_entries(a.max_entries) * round8(a.value_size) * a.nr_cpus;
  return (a.map_flags & BPF_F_MMAPABLE) ? round_up(size, kPageSize) : size;
}

Result<uint64_t> arena_size(const MapAttr& a) {
  return kDataOff - kMapHeaderSize + data_size(a);
}

void init(const MapAttr&, uint8_t*) {}  // a zeroed arena is an array of zero values

// Program side: direct index computation.
void* prog_lookup(Map* m, const void* key, uint32_t cpu) {
  const InlineArray& a = *m->inline_array();
  uint32_t idx;
  std::memcpy(&idx, key, 4);
  if (idx >= a.max_entries) return nullptr;
  return a.base + uint64_t(idx) * a.elem_size + uint64_t(cpu) * a.cpu_stride;
}

long check_update(const Map& m, uint32_t idx, uint64_t flags) {
  if ((flags & ~uint64_t(BPF_F_LOCK)) > BPF_EXIST) return -EINVAL;
  if (m.percpu() && (flags & BPF_F_LOCK)) return -EINVAL;
  if (idx >= m.max_entries()) return -E2BIG;  // all elements exist: nothing can be inserted
  if (flags & BPF_NOEXIST) return -EEXIST;
  if ((flags & BPF_F_LOCK) && m.spin_lock_off() < 0) return -EINVAL;
  return 0;
}

long prog_update(Map* m, const void* key, const void* value, uint64_t flags, uint32_t cpu) {
  uint32_t idx;
  std::memcpy(&idx, key, 4);
  if (long err = check_update(*m, idx, flags)) return err;
  void* dst = prog_lookup(m, key, cpu);
  copy_value_flags(dst, value, m->value_size(), m->spin_lock_off(), flags, dst);
  return 0;
}

long prog_delete(Map*, const void*, uint32_t) {
  return -EINVAL;
}

void bind(Map& m) {
  InlineArray a = array_layout(m);
  a.base = m.arena_base() + kDataOff;
  MapBuilder::set_inline(m, a);
  ProgOps p;
  p.lookup = prog_lookup;
  p.update = prog_update;
  p.delete_elem = prog_delete;
  MapBuilder::set_prog(m, p);
}

// Syscall side.
Status lookup(Map& m, const void* key, void* value, uint64_t flags) {
  uint32_t idx;
  std::memcpy(&idx, key, 4);
  if (idx >= m.max_entries()) return Status(ENOENT, "index out of range");
  const InlineArray& a = *m.inline_array();
  uint8_t* elem = a.base + uint64_t(idx) * a.elem_size;
  if (!m.percpu()) {
    copy_value_flags(value, elem, m.value_size(), m.spin_lock_off(), flags, elem);
    return Status::ok();
  }
  std::memcpy(value, elem, a.elem_size);  // every CPU's slot, as bpf_percpu_array_copy
  return Status::ok();
}

Status update(Map& m, const void* key, const void* value, uint64_t flags) {
  uint32_t idx;
  std::memcpy(&idx, key, 4);
  if (long err = check_update(m, idx, flags)) {
    const char* why = err == -E2BIG    ? "index out of range: array elements cannot be added"
                      : err == -EEXIST ? "BPF_NOEXIST: array elements always exist"
                                       : "bad update flags";
    return Status(static_cast<int>(-err), why);
  }
  const InlineArray& a = *m.inline_array();
  uint8_t* elem = a.base + uint64_t(idx) * a.elem_size;
  if (!m.percpu()) {
    copy_value_flags(elem, value, m.value_size(), m.spin_lock_off(), flags, elem);
  } else {
    std::memcpy(elem, value, a.elem_size);
  }
  return Status::ok();
}

Status get_next_key(Map& m, const void* key, void* next_key) {
  uint32_t idx = UINT32_MAX;
  if (key) std::memcpy(&idx, key, 4);
  uint32_t next;
  if (!key || idx >= m.max_entries()) {
    next = 0;
  } else if (idx == m.max_entries() - 1) {
    return Status(ENOENT, "last index");
  } else {
    next = idx + 1;
  }
  std::memcpy(next_key, &next, 4);
  return Status::ok();
}

Result<MmapRegion> mmap_region(const Map& m) {
  if (!(m.map_flags() & BPF_F_MMAPABLE))
    return Status(EINVAL, "array was not created with BPF_F_MMAPABLE");
  uint64_t size = uint64_t(m.max_entries()) * round8(m.value_size());
  return MmapRegion{m.memfd(), kDataOff, round_up(size, kPageSize)};
}

constexpr MapOps make_ops(const char* name) {
  MapOps o{.name = name};
  o.alloc_check = alloc_check;
  o.arena_size = arena_size;
  o.init = init;
  o.bind = bind;
  o.lookup = lookup;
  o.update = update;
  o.get_next_key = get_next_key;
  o.mmap_region = mmap_region;
  o.missing_delete_errno = EINVAL;
  o.batch_ops = kBatchLookup | kBatchUpdate;  // generic_map_*_batch
  return o;
}

}  // namespace

InlineArray array_layout(const Map& m) {
  const uint32_t slot = round8(m.value_size());
  InlineArray a;
  a.elem_size = slot * m.nr_cpus();
  a.cpu_stride = m.percpu() ? slot : 0;
  a.max_entries = m.max_entries();
  a.index_mask = index_mask(m.max_entries());
  return a;
}

const MapOps kArrayOps = make_ops("BPF_MAP_TYPE_ARRAY");
const MapOps kPercpuArrayOps = [] {
  MapOps o = make_ops("BPF_MAP_TYPE_PERCPU_ARRAY");
  o.mmap_region = nullptr;
  return o;
}();

}  // namespace bpfbox::maps
