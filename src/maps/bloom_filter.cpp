// BPF_MAP_TYPE_BLOOM_FILTER (the kernel's bloom_filter.c): a bit array sized as the kernel sizes
// it, map_extra hash functions (default 5) that are the kernel's jhash with seed + i, so that with
// BPF_F_ZERO_SEED the same values give the same answers (false positives included).
#include <sys/random.h>

#include <bit>
#include <string>

#include "maps/jhash.hpp"
#include "maps/map_ops.hpp"

namespace bpfbox::maps {

namespace {

struct BloomLayout {
  uint32_t nr_hash_funcs;
  uint32_t seed;
  uint32_t bitset_mask;
  uint32_t aligned_u32_count;  // value_size / 4 when value_size is a multiple of 4
};
constexpr uint64_t kLayoutOff = kMapHeaderSize;
constexpr uint64_t kBitsOff = kMapHeaderSize + 64;

constexpr uint32_t kCreateFlags = BPF_F_NUMA_NODE | BPF_F_ZERO_SEED | kAccessMask;

uint32_t hash_funcs(const MapAttr& a) {
  return a.map_extra ? uint32_t(a.map_extra) : 5;
}

// The bit count and mask, as bloom_map_alloc computes them.
void sizing(const MapAttr& a, uint64_t* bytes, uint32_t* mask) {
  uint64_t nr_bits = uint64_t(a.max_entries) * hash_funcs(a);
  bool overflow = nr_bits > UINT32_MAX;
  if (!overflow) {
    nr_bits = (nr_bits / 5) * 7;
    overflow = nr_bits > UINT32_MAX;
  }
  if (overflow || nr_bits > (uint64_t(1) << 31)) {
    *bytes = (uint64_t(UINT32_MAX) + 7) / 8;
    *mask = UINT32_MAX;
  } else {
    nr_bits = nr_bits <= 64 ? 64 : std::bit_ceil(nr_bits);
    *bytes = (nr_bits + 7) / 8;
    *mask = uint32_t(nr_bits - 1);
  }
  *bytes = round_up(*bytes, 8);
}

Status alloc_check(const MapAttr& a) {
  if (a.value_size > kKmallocMaxSize) return Status(E2BIG, "value_size too large");
  if (a.key_size != 0) return Status(EINVAL, "bloom filters take no key (key_size must be 0)");
  if (a.value_size == 0 || a.max_entries == 0)
    return Status(EINVAL, "value_size and max_entries must be > 0");
  if ((a.map_flags & ~kCreateFlags) || !access_flags_ok(a.map_flags))
    return Status(EINVAL, "unsupported map_flags for a bloom filter");
  if (a.map_extra & ~uint64_t(0xf))
    return Status(EINVAL, "map_extra is the number of hash functions, 0 (5) to 15");
  return Status::ok();
}

Result<uint64_t> arena_size(const MapAttr& a) {
  uint64_t bytes;
  uint32_t mask;
  sizing(a, &bytes, &mask);
  return kBitsOff - kMapHeaderSize + bytes;
}

void init(const MapAttr& a, uint8_t* base) {
  auto* l = new (base + kLayoutOff) BloomLayout();
  uint64_t bytes;
  sizing(a, &bytes, &l->bitset_mask);
  l->nr_hash_funcs = hash_funcs(a);
  if (!(a.map_flags & BPF_F_ZERO_SEED)) {
    while (getrandom(&l->seed, sizeof l->seed, 0) != sizeof l->seed) {
    }
  }
  l->aligned_u32_count = a.value_size % 4 == 0 ? a.value_size / 4 : 0;
}

const BloomLayout& layout(const Map& m) {
  return *reinterpret_cast<const BloomLayout*>(m.arena_base() + kLayoutOff);
}
uint64_t* bits(const Map& m) {
  return reinterpret_cast<uint64_t*>(m.arena_base() + kBitsOff);
}

uint32_t bit_of(const Map& m, const BloomLayout& l, const void* value, uint32_t i) {
  // jhash2 over aligned_u32_count words equals jhash over the same bytes on little-endian.
  return jhash(value, m.value_size(), l.seed + i) & l.bitset_mask;
}

long peek(Map& m, const void* value) {
  const BloomLayout& l = layout(m);
  uint64_t* b = bits(m);
  for (uint32_t i = 0; i < l.nr_hash_funcs; ++i) {
    uint32_t bit = bit_of(m, l, value, i);
    if (!(__atomic_load_n(&b[bit / 64], __ATOMIC_RELAXED) & (uint64_t(1) << (bit % 64))))
      return -ENOENT;
  }
  return 0;
}

long push(Map& m, const void* value, uint64_t flags) {
  if (flags != BPF_ANY) return -EINVAL;
  const BloomLayout& l = layout(m);
  uint64_t* b = bits(m);
  for (uint32_t i = 0; i < l.nr_hash_funcs; ++i) {
    uint32_t bit = bit_of(m, l, value, i);
    __atomic_fetch_or(&b[bit / 64], uint64_t(1) << (bit % 64), __ATOMIC_RELAXED);
  }
  return 0;
}

long prog_push(Map* m, const void* value, uint64_t flags, uint32_t) {
  return push(*m, value, flags);
}
long prog_peek(Map* m, void* value, uint32_t) {
  return peek(*m, value);
}
long prog_pop(Map*, void*, uint32_t) {
  return -EOPNOTSUPP;
}
long prog_update(Map*, const void*, const void*, uint64_t, uint32_t) {
  return -EOPNOTSUPP;
}
long prog_delete(Map*, const void*, uint32_t) {
  return -EOPNOTSUPP;
}

Status sys_push(Map& m, const void* value, uint64_t flags) {
  if (long err = push(m, value, flags)) return Status(int(-err), "bloom filter push takes BPF_ANY");
  return Status::ok();
}
Status sys_peek(Map& m, void* value) {
  if (peek(m, value)) return Status(ENOENT, "value is not in the bloom filter");
  return Status::ok();
}
Status sys_pop(Map&, void*) {
  return Status(EOPNOTSUPP, "bloom filters cannot pop");
}

void bind(Map& m) {
  ProgOps p;
  p.update = prog_update;
  p.delete_elem = prog_delete;
  p.push = prog_push;
  p.pop = prog_pop;
  p.peek = prog_peek;
  MapBuilder::set_prog(m, p);
}

constexpr MapOps make_ops() {
  MapOps o{.name = "BPF_MAP_TYPE_BLOOM_FILTER"};
  o.alloc_check = alloc_check;
  o.arena_size = arena_size;
  o.init = init;
  o.bind = bind;
  o.push = sys_push;
  o.pop = sys_pop;
  o.peek = sys_peek;
  o.missing_delete_errno = EOPNOTSUPP;
  o.missing_get_next_key_errno = EOPNOTSUPP;
  return o;
}

}  // namespace

const MapOps kBloomFilterOps = make_ops();

}  // namespace bpfbox::maps
