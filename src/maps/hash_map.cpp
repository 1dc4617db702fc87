// BPF_MAP_TYPE_HASH and BPF_MAP_TYPE_PERCPU_HASH (the kernel's hashtab.c).
//
// Layout after the MapHeader: a HashLayout, n_buckets = roundup_pow_of_two(max_entries) buckets
// (a chain head and a lock each), then the element pool. An element is
// [PoolLink][next][hash][key, 8-aligned][value, 8-aligned; nr_cpus of them for PERCPU_HASH].
// Chains link elements by pool index.
//
// Readers in a run walk chains without locks (acquire loads). Writers hold the bucket lock; a
// replace links the new element at the head before unlinking the old one, so a concurrent reader
// sees one or the other, never neither; an unlinked element is retired to the pool and reused only
// after every run that might hold it has ended. New elements go to the head of their bucket and
// keys hash with the kernel's jhash, so with BPF_F_ZERO_SEED get_next_key walks keys in exactly the
// kernel's order.
#include <sched.h>
#include <sys/random.h>

#include <array>
#include <bit>
#include <string>
#include <utility>
#include <vector>

#include "maps/elem_pool.hpp"
#include "maps/jhash.hpp"
#include "maps/key_equal.hpp"
#include "maps/lru_list.hpp"
#include "maps/map_ops.hpp"

namespace bpfbox::maps {

namespace {

struct Bucket {
  std::atomic<uint32_t> head;  // element index, 0 for none
  SpinLock lock;
  // Bumped by every replace between linking the new element and unlinking the old one: a reader
  // that found nothing while it changed may have walked past both, and looks again.
  std::atomic<uint32_t> replace_seq;
  uint32_t reserved;
};

struct HashElem {
  PoolLink pool;
  std::atomic<uint32_t> next;
  uint32_t hash;
};
static_assert(sizeof(HashElem) % 8 == 0);
// LRU maps keep an LruNode between the element header and the key.
constexpr uint32_t key_off_for(bool lru) {
  return sizeof(HashElem) + (lru ? sizeof(LruNode) : 0);
}

// The element count of a big map (more than 2 * kCountBatch elements per CPU, as the kernel's
// use_percpu_counter) is per CPU, as the kernel's percpu_counter: each CPU slot adds to its own
// delta, on its own line, and folds it into the shared total once it reaches kCountBatch, so
// inserts and deletes on different CPUs share no line. Smaller maps keep one exact counter.
struct alignas(64) CountSlot {
  std::atomic<int32_t> delta;
};
constexpr int32_t kCountBatch = 32;  // PERCPU_COUNTER_BATCH

struct HashLayout {
  uint32_t n_buckets;
  uint32_t seed;
  uint32_t elem_size;
  uint32_t key_off;
  uint32_t value_off;
  std::atomic<uint32_t> count;  // live elements (big maps: what the CPU slots folded; signed)
  uint32_t n_lru_lists;         // 0 for HASH and PERCPU_HASH
  uint32_t identity_hash;       // DEVMAP_HASH: the key (an index) is its own hash
  uint32_t n_count_slots;       // CountSlots at count_off, 0 for one exact counter
  uint64_t lru_off;
  uint64_t count_off;
  uint64_t buckets_off;
  PoolHeader pool;
};
constexpr uint64_t kLayoutOff = kMapHeaderSize;

// The process-local view a Map's impl points to.
struct HashView {
  HashLayout* layout;
  Bucket* buckets;
  ElemPool pool;
  uint32_t mask;
  uint32_t seed;
  uint32_t key_size;
  uint32_t value_size;
  uint32_t key_off;
  uint32_t value_off;
  uint32_t stride;      // round_up(value_size, 8): one CPU's slot
  uint32_t cpu_stride;  // stride for per-CPU maps, 0 otherwise
  uint32_t nr_cpus;
  uint32_t max_entries;
  int32_t lock_off;
  bool percpu;
  bool lru;
  bool identity_hash;
  LruLists lru_lists;
  CountSlot* count_slots;  // nullptr: layout->count is exact
  uint32_t n_count_slots;

  // The element count: +1 / -1 from CPU slot `cpu` (count_take for inserts).
  void count_add(uint32_t cpu, int32_t d) const {
    if (!count_slots) {
      layout->count.fetch_add(static_cast<uint32_t>(d), std::memory_order_relaxed);
      return;
    }
    std::atomic<int32_t>& delta = count_slots[cpu % n_count_slots].delta;
    int32_t x = delta.fetch_add(d, std::memory_order_relaxed) + d;
    if (x >= kCountBatch || x <= -kCountBatch) {
      delta.fetch_sub(x, std::memory_order_relaxed);
      layout->count.fetch_add(static_cast<uint32_t>(x), std::memory_order_relaxed);
    }
  }
  // Counts an insert unless that would pass max_entries (E2BIG; limit false: always counts).
  // Per-CPU counts are summed only when the total may be within a batch per CPU of the limit,
  // as __percpu_counter_compare; like the kernel's, two such inserts may race past it by one.
  bool count_take(uint32_t cpu, bool limit) const {
    if (!count_slots) {
      if (layout->count.fetch_add(1, std::memory_order_relaxed) < max_entries || !limit)
        return true;
      layout->count.fetch_sub(1, std::memory_order_relaxed);
      return false;
    }
    if (limit) {
      int64_t total = static_cast<int32_t>(layout->count.load(std::memory_order_relaxed));
      if (total + int64_t(n_count_slots) * kCountBatch >= max_entries) {
        for (uint32_t i = 0; i < n_count_slots; ++i)
          total += count_slots[i].delta.load(std::memory_order_relaxed);
        if (total >= max_entries) return false;
      }
    }
    count_add(cpu, 1);
    return true;
  }

  uint32_t hash(const void* key) const {
    if (identity_hash) {
      uint32_t k;
      std::memcpy(&k, key, 4);
      return k;
    }
    return jhash(key, key_size, seed);
  }
  Bucket& bucket(uint32_t h) const { return buckets[h & mask]; }
  HashElem* elem(uint32_t idx) const { return reinterpret_cast<HashElem*>(pool.elem(idx)); }
  uint8_t* key_of(HashElem* e) const { return reinterpret_cast<uint8_t*>(e) + key_off; }
  uint8_t* value_of(HashElem* e) const { return reinterpret_cast<uint8_t*>(e) + value_off; }

  // Lock-free, inside a run: a replace racing with the walk never makes a key look absent.
  // Same: whether an element's key is the key (a compare of key_size bytes at key_off).
  template <class Same>
  uint32_t find_lockless(const Bucket& b, uint32_t h, Same same) const {
    for (;;) {
      uint32_t seq = b.replace_seq.load(std::memory_order_acquire);
      if (uint32_t idx = find(b, h, same)) return idx;
      if (b.replace_seq.load(std::memory_order_acquire) == seq) return 0;
    }
  }
  template <class Same>
  uint32_t find(const Bucket& b, uint32_t h, Same same) const {
    for (uint32_t idx = b.head.load(std::memory_order_acquire); idx;) {
      HashElem* e = elem(idx);
      if (e->hash == h && same(e)) return idx;
      idx = e->next.load(std::memory_order_acquire);
    }
    return 0;
  }
  // Under the bucket lock.
  uint32_t find(const Bucket& b, uint32_t h, const void* key) const {
    return find(b, h, [&](HashElem* e) { return std::memcmp(key_of(e), key, key_size) == 0; });
  }
  // Under the bucket lock.
  void unlink(Bucket& b, uint32_t idx) const {
    uint32_t next = elem(idx)->next.load(std::memory_order_relaxed);
    uint32_t cur = b.head.load(std::memory_order_relaxed);
    if (cur == idx) {
      b.head.store(next, std::memory_order_release);
      return;
    }
    while (cur) {
      HashElem* e = elem(cur);
      uint32_t n = e->next.load(std::memory_order_relaxed);
      if (n == idx) {
        e->next.store(next, std::memory_order_release);
        return;
      }
      cur = n;
    }
  }
};

HashView& view(const Map& m) {
  return *static_cast<HashView*>(m.impl);
}
HashView& view(const Map* m) {
  return *static_cast<HashView*>(m->impl);
}

bool is_percpu(uint32_t t) {
  return t == BPF_MAP_TYPE_PERCPU_HASH || t == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}
bool is_lru(uint32_t t) {
  return t == BPF_MAP_TYPE_LRU_HASH || t == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

constexpr uint32_t kCreateFlags =
    BPF_F_NO_PREALLOC | BPF_F_NO_COMMON_LRU | BPF_F_NUMA_NODE | kAccessMask | BPF_F_ZERO_SEED;
constexpr uint32_t kMaxBuckets = UINT32_MAX / 16;  // the kernel's bound on n_buckets

Status alloc_check(const MapAttr& a) {
  bool percpu = is_percpu(a.map_type), lru = is_lru(a.map_type);
  if ((a.map_flags & ~kCreateFlags) || !access_flags_ok(a.map_flags))
    return Status(EINVAL, "unsupported map_flags for a hash map");
  if (!lru && (a.map_flags & BPF_F_NO_COMMON_LRU))
    return Status(EINVAL, "BPF_F_NO_COMMON_LRU is for LRU hash maps only");
  if (lru && (a.map_flags & BPF_F_NO_PREALLOC))
    return Status(kENOTSUPP, "LRU hash maps are always preallocated: BPF_F_NO_PREALLOC is refused");
  if ((a.map_flags & BPF_F_NUMA_NODE) && (percpu || (a.map_flags & BPF_F_NO_COMMON_LRU)))
    return Status(EINVAL, "per-CPU hash maps take no NUMA node");
  if (a.max_entries == 0) return Status(EINVAL, "max_entries must be > 0");
  if (a.key_size == 0) return Status(EINVAL, "key_size must be > 0");
  if (a.value_size == 0) return Status(EINVAL, "value_size must be > 0");
  if (uint64_t(a.key_size) + a.value_size >= kKmallocMaxSize - sizeof(HashElem) - 32)
    return Status(E2BIG, "key_size + value_size too large for a hash element");
  if (percpu && round8(a.value_size) > kPcpuMinUnitSize)
    return Status(E2BIG, "per-CPU values are limited to 32 KiB");
  if (std::bit_ceil(uint64_t(a.max_entries)) > kMaxBuckets)
    return Status(E2BIG, "max_entries too large for a hash map");
  return Status::ok();
}

// htab_map_alloc: per-CPU LRU lists get the same number of elements each, at least one: max_entries
// rounds up to a multiple of nr_possible_cpus (down if that overflows u32).
Status resolve(MapAttr& a) {
  if (is_lru(a.map_type) && (a.map_flags & BPF_F_NO_COMMON_LRU)) {
    uint64_t n = a.nr_cpus_possible;
    uint64_t up = (uint64_t(a.max_entries) + n - 1) / n * n;
    a.max_entries = uint32_t(up > UINT32_MAX ? a.max_entries / n * n : up);
  }
  if (a.max_entries > (uint32_t(1) << 31) || std::bit_ceil(uint64_t(a.max_entries)) > kMaxBuckets)
    return Status(E2BIG, "max_entries too large for a hash map");
  return Status::ok();
}

uint32_t n_buckets(const MapAttr& a) {
  return uint32_t(std::bit_ceil(a.max_entries));
}
uint32_t elem_size(const MapAttr& a) {
  return key_off_for(is_lru(a.map_type)) + round8(a.key_size) + round8(a.value_size) * a.nr_cpus;
}
// Room beyond max_entries for elements retired while runs still hold them.
uint32_t pool_capacity(const MapAttr& a) {
  uint64_t slack = std::max<uint64_t>(uint64_t(a.nr_cpus_possible) * 256, a.max_entries);
  return uint32_t(std::min<uint64_t>(uint64_t(a.max_entries) + slack, UINT32_MAX - 1));
}
uint32_t n_lru_lists(const MapAttr& a) {
  if (!is_lru(a.map_type)) return 0;
  return (a.map_flags & BPF_F_NO_COMMON_LRU) ? a.nr_cpus_possible : 1;
}
uint64_t lru_off(const MapAttr&) {
  return round_up(kLayoutOff + sizeof(HashLayout), 64);
}
uint32_t n_count_slots(const MapAttr& a) {
  return a.max_entries / 2 > uint64_t(a.nr_cpus_possible) * kCountBatch ? a.nr_cpus_possible : 0;
}
uint64_t count_off(const MapAttr& a) {
  return round_up(lru_off(a) + uint64_t(n_lru_lists(a)) * sizeof(LruListHeader), 64);
}
uint64_t buckets_off(const MapAttr& a) {
  return round_up(count_off(a) + uint64_t(n_count_slots(a)) * sizeof(CountSlot), 64);
}
uint64_t elems_off(const MapAttr& a) {
  return round_up(buckets_off(a) + uint64_t(n_buckets(a)) * sizeof(Bucket), 64);
}

Result<uint64_t> arena_size(const MapAttr& a) {
  return elems_off(a) - kMapHeaderSize +
         ElemPool::bytes(pool_capacity(a), elem_size(a), a.nr_cpus_possible);
}

void init(const MapAttr& a, uint8_t* base) {
  auto* l = new (base + kLayoutOff) HashLayout();
  l->n_buckets = n_buckets(a);
  uint32_t seed = 0;
  if (!(a.map_flags & BPF_F_ZERO_SEED)) {
    while (getrandom(&seed, sizeof seed, 0) != sizeof seed) {
    }
  }
  l->seed = seed;
  l->elem_size = elem_size(a);
  l->key_off = key_off_for(is_lru(a.map_type));
  l->value_off = l->key_off + round8(a.key_size);
  l->n_lru_lists = n_lru_lists(a);
  l->identity_hash = a.map_type == BPF_MAP_TYPE_DEVMAP_HASH;
  l->lru_off = lru_off(a);
  LruLists::init(reinterpret_cast<LruListHeader*>(base + l->lru_off), l->n_lru_lists, a.max_entries,
                 (a.map_flags & BPF_F_NO_COMMON_LRU) != 0);
  l->n_count_slots = n_count_slots(a);
  l->count_off = count_off(a);
  for (uint32_t i = 0; i < l->n_count_slots; ++i)
    new (base + l->count_off + uint64_t(i) * sizeof(CountSlot)) CountSlot();
  l->buckets_off = buckets_off(a);
  ElemPool::init(&l->pool, pool_capacity(a), l->elem_size, a.nr_cpus_possible, elems_off(a));
}

// Program side (inside a run: lock-free reads, the run's epoch keeps elements alive).
template <bool kLru>
void* prog_lookup(Map* m, const void* key, uint32_t cpu) {
  HashView& v = view(m);
  uint32_t h = v.hash(key);
  uint32_t idx = v.find_lockless(
      v.bucket(h), h, [&](HashElem* e) { return std::memcmp(v.key_of(e), key, v.key_size) == 0; });
  if (!idx) return nullptr;
  if constexpr (kLru) LruLists::touch(v.lru_lists.node(idx));
  return v.value_of(v.elem(idx)) + uint64_t(cpu) * v.cpu_stride;
}

// The same for a key size N known at compile time: jhash and the compare unrolled for it, the
// key and value offsets constants (the lookup is most of a small program's time).
template <uint32_t N, bool kLru>
void* prog_lookup_fixed(Map* m, const void* key, uint32_t cpu) {
  constexpr uint32_t kKeyOff = key_off_for(kLru), kValueOff = kKeyOff + round8(N);
  HashView& v = view(m);
  uint32_t h = jhash_fixed<N>(key, v.seed);
  uint32_t idx = v.find_lockless(v.bucket(h), h, [key](HashElem* e) {
    return keys_equal<N>(reinterpret_cast<uint8_t*>(e) + kKeyOff, key);
  });
  if (!idx) return nullptr;
  if constexpr (kLru) LruLists::touch(v.lru_lists.node(idx));
  return reinterpret_cast<uint8_t*>(v.elem(idx)) + kValueOff + uint64_t(cpu) * v.cpu_stride;
}

// The key sizes with their own lookup: every size to 16 bytes (u8..u64 keys, MAC addresses,
// packed and padded IPv4 tuples), then multiples of 4 to 64 (IPv6 tuples, larger structs).
using LookupFn = void* (*)(Map*, const void*, uint32_t);
constexpr uint32_t kFixedKeyMax = 64;
constexpr bool has_fixed_lookup(uint32_t n) {
  return n > 0 && n <= kFixedKeyMax && (n <= 16 || n % 4 == 0);
}
template <uint32_t N, bool kLru>
constexpr LookupFn fixed_lookup() {
  if constexpr (has_fixed_lookup(N)) return &prog_lookup_fixed<N, kLru>;
  return nullptr;
}
template <bool kLru, uint32_t... Is>
constexpr auto fixed_lookups(std::integer_sequence<uint32_t, Is...>) {
  return std::array<LookupFn, sizeof...(Is)>{fixed_lookup<Is, kLru>()...};
}
constexpr auto kFixedLookups =
    fixed_lookups<false>(std::make_integer_sequence<uint32_t, kFixedKeyMax + 1>{});
constexpr auto kFixedLruLookups =
    fixed_lookups<true>(std::make_integer_sequence<uint32_t, kFixedKeyMax + 1>{});

LookupFn lookup_for(const HashView& v) {
  if (!v.identity_hash && has_fixed_lookup(v.key_size))
    return (v.lru ? kFixedLruLookups : kFixedLookups)[v.key_size];
  return v.lru ? prog_lookup<true> : prog_lookup<false>;
}

// Unlinks an element the LRU evicted to make room, unless a delete or replace got there first.
void evict(HashView& v, uint32_t victim, uint32_t cpu) {
  Bucket& b = v.bucket(v.elem(victim)->hash);
  {
    SpinGuard g(b.lock);
    uint32_t cur = b.head.load(std::memory_order_relaxed);
    while (cur && cur != victim) cur = v.elem(cur)->next.load(std::memory_order_relaxed);
    if (!cur) return;  // whoever unlinked it retired it
    v.unlink(b, victim);
    v.count_add(cpu, -1);
  }
  v.pool.retire(victim);
}

uint32_t current_cpu(bool in_run, uint32_t cpu) {
  if (in_run) return cpu;
  int c = sched_getcpu();
  return c < 0 ? 0 : static_cast<uint32_t>(c);
}
// The CPU slot an element count change goes to (only per-CPU counts need it).
uint32_t count_cpu(const HashView& v, bool in_run, uint32_t cpu) {
  return v.count_slots ? current_cpu(in_run, cpu) : 0;
}

// Writes a new element's value: all CPUs from a user buffer, or one CPU's (the others zeroed).
void fill_value(HashView& v, HashElem* e, const void* value, bool all_cpus, uint32_t cpu) {
  uint8_t* dst = v.value_of(e);
  if (!v.percpu) {
    std::memcpy(dst, value, v.value_size);
    if (v.lock_off >= 0) std::memset(dst + v.lock_off, 0, 4);
    return;
  }
  if (all_cpus) {
    std::memcpy(dst, value, uint64_t(v.stride) * v.nr_cpus);
    return;
  }
  std::memset(dst, 0, uint64_t(v.stride) * v.nr_cpus);
  std::memcpy(dst + uint64_t(cpu) * v.stride, value, v.value_size);
}

// An existing element's value, in place (per-CPU maps and BPF_F_LOCK).
void overwrite_value(HashView& v, HashElem* e, const void* value, uint64_t flags, bool all_cpus,
                     uint32_t cpu) {
  uint8_t* dst = v.value_of(e);
  if (!v.percpu) {
    copy_value_flags(dst, value, v.value_size, v.lock_off, flags, dst);
  } else if (all_cpus) {
    std::memcpy(dst, value, uint64_t(v.stride) * v.nr_cpus);
  } else {
    std::memcpy(dst + uint64_t(cpu) * v.stride, value, v.value_size);
  }
}

// The update both sides share; returns 0 or a negative errno.
long update_elem(HashView& v, const void* key, const void* value, uint64_t flags, bool in_run,
                 uint32_t cpu) {
  if ((flags & ~uint64_t(BPF_F_LOCK)) > BPF_EXIST) return -EINVAL;
  if ((flags & BPF_F_LOCK) && (v.lock_off < 0 || v.percpu || v.lru)) return -EINVAL;
  const bool all_cpus = !in_run;
  const bool in_place = v.percpu || (flags & BPF_F_LOCK);
  uint32_t h = v.hash(key);
  Bucket& b = v.bucket(h);

  // An LRU map makes room first (evicting if it must), as the kernel pops a free LRU node before
  // it looks the key up (LRU_PERCPU_HASH: unless BPF_EXIST); no bucket lock is held, so evicting
  // cannot deadlock.
  uint32_t lru_list = 0;
  bool lru_reserved = false;
  const uint32_t here = v.lru ? current_cpu(in_run, cpu) : count_cpu(v, in_run, cpu);
  if (v.lru && !(v.percpu && flags == BPF_EXIST)) {
    lru_list = v.lru_lists.list_for(here);
    uint32_t victims[LruLists::kMaxVictims];
    uint32_t n = v.lru_lists.reserve(lru_list, victims);
    for (uint32_t i = 0; i < n; ++i) evict(v, victims[i], here);
    lru_reserved = true;
  }

  if (in_place) {
    SpinGuard g(b.lock);
    if (uint32_t old = v.find(b, h, key)) {
      long err = 0;
      if (flags & BPF_NOEXIST) {
        err = -EEXIST;
      } else {
        overwrite_value(v, v.elem(old), value, flags, all_cpus, cpu);
        if (v.lru) LruLists::touch(v.lru_lists.node(old));
      }
      if (lru_reserved) v.lru_lists.unreserve(lru_list);
      return err;
    }
    if (flags & BPF_EXIST) {
      if (lru_reserved) v.lru_lists.unreserve(lru_list);
      return -ENOENT;
    }
  }

  // Allocate before taking the bucket lock: waiting for a grace period under it could deadlock
  // with a run that spins on the same lock.
  uint32_t fresh = v.pool.alloc(in_run ? static_cast<int32_t>(cpu) : -1);
  if (fresh) {
    HashElem* e = v.elem(fresh);
    e->hash = h;
    std::memcpy(v.key_of(e), key, v.key_size);
    fill_value(v, e, value, all_cpus, cpu);
  }

  uint32_t old;
  {
    SpinGuard g(b.lock);
    old = v.find(b, h, key);
    long err = 0;
    if (old && (flags & BPF_NOEXIST)) {
      err = -EEXIST;
    } else if (!old && (flags & BPF_EXIST)) {
      err = -ENOENT;
    } else if (old && in_place) {  // inserted meanwhile by someone else
      overwrite_value(v, v.elem(old), value, flags, all_cpus, cpu);
      err = 1;
    } else if (!old && !v.count_take(here, /*limit=*/!v.lru)) {  // LRU maps made room already
      err = -E2BIG;
    } else if (!fresh) {
      if (!old) v.count_add(here, -1);
      err = -E2BIG;  // only elements this run retired itself are left
    }
    if (err) {
      if (fresh) v.pool.free_unused(fresh);
      if (lru_reserved) v.lru_lists.unreserve(lru_list);
      return err > 0 ? 0 : err;
    }
    HashElem* e = v.elem(fresh);
    e->next.store(b.head.load(std::memory_order_relaxed), std::memory_order_relaxed);
    b.head.store(fresh, std::memory_order_release);
    if (old) {
      b.replace_seq.store(b.replace_seq.load(std::memory_order_relaxed) + 1,
                          std::memory_order_release);
      v.unlink(b, old);
    }
    if (v.lru) {
      v.lru_lists.push(lru_list, fresh);
      if (old) {
        LruLists::touch(v.lru_lists.node(fresh));  // the kernel marks a replacement referenced
        v.lru_lists.remove(old);
      }
    }
  }
  if (old) v.pool.retire(old);
  return 0;
}

long delete_elem(HashView& v, const void* key, void* value_out, uint64_t flags, uint32_t here) {
  uint32_t h = v.hash(key);
  Bucket& b = v.bucket(h);
  uint32_t idx;
  {
    SpinGuard g(b.lock);
    idx = v.find(b, h, key);
    if (!idx) return -ENOENT;
    if (value_out) {
      uint8_t* src = v.value_of(v.elem(idx));
      if (v.percpu) {
        std::memcpy(value_out, src, uint64_t(v.stride) * v.nr_cpus);
      } else {
        copy_value_flags(value_out, src, v.value_size, v.lock_off, flags, src);
      }
    }
    v.unlink(b, idx);
    v.count_add(here, -1);
    if (v.lru) v.lru_lists.remove(idx);
  }
  v.pool.retire(idx);
  return 0;
}

long prog_update(Map* m, const void* key, const void* value, uint64_t flags, uint32_t cpu) {
  return update_elem(view(m), key, value, flags, /*in_run=*/true, cpu);
}
long prog_delete(Map* m, const void* key, uint32_t cpu) {
  return delete_elem(view(m), key, nullptr, 0, cpu);
}

// Syscall side.
Status errno_status(long err, const char* what) {
  if (err == 0) return Status::ok();
  const char* why = err == -ENOENT   ? "no such key"
                    : err == -EEXIST ? "BPF_NOEXIST: the key exists"
                    : err == -E2BIG  ? "map is full (max_entries reached)"
                    : err == -EINVAL ? "bad flags"
                                     : "error";
  return Status(static_cast<int>(-err), std::string(what) + ": " + why);
}

Status lookup(Map& m, const void* key, void* value, uint64_t flags) {
  HashView& v = view(m);
  uint32_t h = v.hash(key);
  Bucket& b = v.bucket(h);
  SpinGuard g(b.lock);
  uint32_t idx = v.find(b, h, key);
  if (!idx) return Status(ENOENT, "lookup: no such key");
  uint8_t* src = v.value_of(v.elem(idx));
  if (v.percpu) {
    std::memcpy(value, src, uint64_t(v.stride) * v.nr_cpus);
  } else {
    copy_value_flags(value, src, v.value_size, v.lock_off, flags, src);
  }
  return Status::ok();
}

Status update(Map& m, const void* key, const void* value, uint64_t flags) {
  return errno_status(update_elem(view(m), key, value, flags, /*in_run=*/false, 0), "update");
}

Status remove(Map& m, const void* key) {
  return errno_status(delete_elem(view(m), key, nullptr, 0, count_cpu(view(m), false, 0)),
                      "delete");
}

Status lookup_and_delete(Map& m, const void* key, void* value, uint64_t flags) {
  return errno_status(delete_elem(view(m), key, value, flags, count_cpu(view(m), false, 0)),
                      "lookup_and_delete");
}

Status get_next_key(Map& m, const void* key, void* next_key) {
  HashView& v = view(m);
  uint32_t i = 0;
  if (key) {
    uint32_t h = v.hash(key);
    Bucket& b = v.bucket(h);
    SpinGuard g(b.lock);
    if (uint32_t idx = v.find(b, h, key)) {
      if (uint32_t next = v.elem(idx)->next.load(std::memory_order_relaxed)) {
        std::memcpy(next_key, v.key_of(v.elem(next)), v.key_size);
        return Status::ok();
      }
      i = (h & v.mask) + 1;
    }  // a missing key restarts from the first bucket, as the kernel
  }
  for (; i <= v.mask; ++i) {
    Bucket& b = v.buckets[i];
    if (!b.head.load(std::memory_order_relaxed)) continue;
    SpinGuard g(b.lock);
    if (uint32_t first = b.head.load(std::memory_order_relaxed)) {
      std::memcpy(next_key, v.key_of(v.elem(first)), v.key_size);
      return Status::ok();
    }
  }
  return Status(ENOENT, "get_next_key: no more keys");
}

void bind(Map& m) {
  auto* l = reinterpret_cast<HashLayout*>(m.arena_base() + kLayoutOff);
  auto* v = new HashView();
  v->layout = l;
  v->buckets = reinterpret_cast<Bucket*>(m.arena_base() + l->buckets_off);
  v->pool = ElemPool(m.arena_base(), &l->pool, &RunDomain::process());
  v->mask = l->n_buckets - 1;
  v->seed = l->seed;
  v->key_size = m.key_size();
  v->value_size = m.value_size();
  v->key_off = l->key_off;
  v->value_off = l->value_off;
  v->stride = round8(m.value_size());
  v->cpu_stride = m.percpu() ? v->stride : 0;
  v->nr_cpus = m.nr_cpus();
  v->max_entries = m.max_entries();
  v->lock_off = m.spin_lock_off();
  v->percpu = m.percpu();
  v->lru = l->n_lru_lists != 0;
  v->identity_hash = l->identity_hash != 0;
  v->n_count_slots = l->n_count_slots;
  v->count_slots =
      l->n_count_slots ? reinterpret_cast<CountSlot*>(m.arena_base() + l->count_off) : nullptr;
  v->lru_lists = LruLists(reinterpret_cast<LruListHeader*>(m.arena_base() + l->lru_off),
                          l->n_lru_lists, &v->pool, sizeof(HashElem));
  m.impl = v;
  ProgOps p;
  p.lookup = lookup_for(*v);
  p.update = prog_update;
  p.delete_elem = prog_delete;
  MapBuilder::set_prog(m, p);
}

void unbind(Map& m) {
  delete static_cast<HashView*>(m.impl);
  m.impl = nullptr;
}

constexpr MapOps make_ops(const char* name) {
  MapOps o{.name = name};
  o.alloc_check = alloc_check;
  o.resolve = resolve;
  o.arena_size = arena_size;
  o.init = init;
  o.bind = bind;
  o.unbind = unbind;
  o.lookup = lookup;
  o.update = update;
  o.delete_elem = remove;
  o.get_next_key = get_next_key;
  o.lookup_and_delete = lookup_and_delete;
  o.lookup_batch = hash_lookup_batch;
  o.batch_ops = kBatchAll;
  return o;
}

// DEVMAP_HASH: values are checked struct bpf_devmap_val; BPF_EXIST does not require the key.
Status devmap_hash_update(Map& m, const void* key, const void* value, uint64_t flags) {
  if (flags > BPF_EXIST) return Status(EINVAL, "bad update flags");
  uint32_t ifindex;
  std::memcpy(&ifindex, value, 4);
  if (!ifindex) return Status(EINVAL, "ifindex 0 names no network device");
  auto w = devmap_value(m, value);
  if (Status bad = w.status(); !bad) {
    // The kernel looks the key up before it checks the value.
    HashView& v = view(m);
    uint32_t h = v.hash(key);
    Bucket& b = v.bucket(h);
    SpinGuard g(b.lock);
    if ((flags & BPF_NOEXIST) && v.find(b, h, key)) return Status(EEXIST, "update: key exists");
    return bad;
  }
  uint64_t stored = *w;
  return errno_status(update_elem(view(m), key, &stored, flags & BPF_NOEXIST, /*in_run=*/false, 0),
                      "update");
}

constexpr MapOps make_devmap_hash_ops() {
  MapOps o = make_ops("BPF_MAP_TYPE_DEVMAP_HASH");
  o.alloc_check = devmap_alloc_check;
  o.update = devmap_hash_update;
  o.lookup_and_delete = nullptr;
  o.lookup_batch = nullptr;
  o.batch_ops = 0;
  return o;
}

}  // namespace

const MapOps kHashOps = make_ops("BPF_MAP_TYPE_HASH");
const MapOps kPercpuHashOps = make_ops("BPF_MAP_TYPE_PERCPU_HASH");
const MapOps kLruHashOps = make_ops("BPF_MAP_TYPE_LRU_HASH");
const MapOps kLruPercpuHashOps = make_ops("BPF_MAP_TYPE_LRU_PERCPU_HASH");
const MapOps kDevmapHashOps = make_devmap_hash_ops();

SpinLock& hash_bucket_lock(Map& m, const void* key) {
  HashView& v = view(m);
  return v.bucket(v.hash(key)).lock;
}

// __htab_map_lookup_and_delete_batch: whole buckets from the u32 bucket cursor on; a bucket that
// does not fit in what is left of count ends the batch (ENOSPC if nothing was copied), the end of
// the table gives ENOENT. out_batch is the next bucket to read.
Status hash_lookup_batch(Map& m, const void* in_batch, void* out_batch, void* keys, void* values,
                         uint32_t* count, uint64_t elem_flags, bool and_delete) {
  HashView& v = view(m);
  uint32_t max = *count;
  if (max == 0) return Status::ok();
  *count = 0;
  uint32_t batch = 0;
  if (in_batch) std::memcpy(&batch, in_batch, 4);
  if (batch > v.mask) return Status(ENOENT, "batch cursor is past the last bucket");
  const uint32_t vsize = m.value_copy_size();
  auto* kout = static_cast<uint8_t*>(keys);
  auto* vout = static_cast<uint8_t*>(values);
  uint32_t total = 0;
  const uint32_t here = count_cpu(v, false, 0);
  Status st;
  for (;;) {
    Bucket& b = v.buckets[batch];
    std::vector<uint32_t> removed;  // retired once the bucket lock is released
    bool fits = true;
    {
      SpinGuard g(b.lock);
      uint32_t cnt = 0;
      for (uint32_t idx = b.head.load(std::memory_order_relaxed); idx;
           idx = v.elem(idx)->next.load(std::memory_order_relaxed))
        ++cnt;
      if (cnt > max - total) {
        fits = false;
      } else {
        for (uint32_t idx = b.head.load(std::memory_order_relaxed); idx;) {
          HashElem* e = v.elem(idx);
          uint32_t next = e->next.load(std::memory_order_relaxed);
          std::memcpy(kout + uint64_t(total) * v.key_size, v.key_of(e), v.key_size);
          uint8_t* src = v.value_of(e);
          uint8_t* dst = vout + uint64_t(total) * vsize;
          if (v.percpu) {
            std::memcpy(dst, src, vsize);
          } else {
            copy_value_flags(dst, src, v.value_size, v.lock_off, elem_flags, src);
          }
          ++total;
          if (and_delete) {
            v.unlink(b, idx);
            v.count_add(here, -1);
            if (v.lru) v.lru_lists.remove(idx);
            removed.push_back(idx);
          }
          idx = next;
        }
      }
    }
    for (uint32_t idx : removed) v.pool.retire(idx);
    if (!fits) {
      if (total == 0) st = Status(ENOSPC, "batch: the next bucket holds more keys than count");
      break;
    }
    if (++batch > v.mask) {
      st = Status(ENOENT, "batch: end of map reached");
      break;
    }
  }
  std::memcpy(out_batch, &batch, 4);
  *count = total;
  return st;
}

}  // namespace bpfbox::maps
