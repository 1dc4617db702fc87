// BPF_MAP_TYPE_HASH_OF_MAPS (the kernel's hashtab.c with map_in_map.c): a hash map whose values
// are inner maps, map fds in and map ids out, checked against the inner_map_fd template.
//
// It is the hash family (hash_map.cpp) storing, as each element's 4-byte value, the index of a
// slot in a table of held references (HeldObjects) that follows the hash's part of the arena:
// [hash layout][InnerMapMeta][u32 ids[n_slots]]. An update takes a fresh slot, so a run that
// looked up the old element keeps a valid inner map; the old slot is freed after the runs that
// might use it. Syscall-side changes are serialized by the held table's lock (programs cannot
// change map-in-maps), so reading the old slot before the hash update is exact.
#include <string>

#include "maps/held_objects.hpp"
#include "maps/inner_map_meta.hpp"
#include "maps/map_ops.hpp"

namespace bpfbox::maps {

namespace {

struct HashOfMaps {
  HeldObjects held;
  void* (*hash_lookup)(Map*, const void*, uint32_t);
};

HashOfMaps& state(const Map& m) {
  return *static_cast<HashOfMaps*>(m.held);
}

// Room for replaced inner maps that runs may still hold.
uint32_t n_slots(uint32_t max_entries) {
  return uint32_t(std::min<uint64_t>(uint64_t(max_entries) * 2 + 16, UINT32_MAX / 8));
}

uint64_t family_off(const MapAttr& a) {
  return round_up(kMapHeaderSize + kHashOps.arena_size(a).value(), 64);
}

Status alloc_check(const MapAttr& a) {
  if (a.value_size != 4)
    return Status(EINVAL, "BPF_MAP_TYPE_HASH_OF_MAPS holds 4-byte map fds: value_size must be 4");
  return kHashOps.alloc_check(a);
}

Result<uint64_t> arena_size(const MapAttr& a) {
  return family_off(a) - kMapHeaderSize + 64 + uint64_t(n_slots(a.max_entries)) * 4;
}

void init(const MapAttr& a, uint8_t* base) {
  kHashOps.init(a, base);
  uint64_t off = family_off(a);
  reinterpret_cast<MapHeader*>(base)->family_off = off;
  new (base + off) InnerMapMeta(a.inner);
}

const InnerMapMeta& meta(const Map& m) {
  return *reinterpret_cast<const InnerMapMeta*>(m.arena_base() + header_of(m)->family_off);
}

void* prog_lookup(Map* m, const void* key, uint32_t cpu) {
  HashOfMaps& s = state(*m);
  auto* slot = static_cast<const uint32_t*>(s.hash_lookup(m, key, cpu));
  return slot ? s.held.ptr(*slot) : nullptr;
}

void bind(Map& m) {
  kHashOps.bind(m);
  uint64_t off = header_of(m)->family_off;
  auto* ids = reinterpret_cast<std::atomic<uint32_t>*>(m.arena_base() + off + 64);
  m.held = new HashOfMaps{
      {m.objects(), n_slots(m.max_entries()), ids, /*allocates=*/true, ObjectKind::Map},
      m.prog().lookup};
  state(m).held.adopt_ids();  // attached in another process
  ProgOps p;  // programs may only look up (the verifier refuses updates of map-in-maps)
  p.lookup = prog_lookup;
  MapBuilder::set_prog(m, p);
  MapBuilder::set_inner_map_meta(m, meta(m));
}

void unbind(Map& m) {
  delete static_cast<HashOfMaps*>(m.held);
  m.held = nullptr;
  kHashOps.unbind(m);
}

Status lookup(Map& m, const void* key, void* value, uint64_t) {
  uint32_t slot;
  if (Status st = kHashOps.lookup(m, key, &slot, 0); !st) return st;
  uint32_t id = state(m).held.id(slot);
  std::memcpy(value, &id, 4);
  return Status::ok();
}

// bpf_fd_htab_map_update_elem: the fd first, then the hash update with the caller's flags.
Status update(Map& m, const void* key, const void* value, uint64_t flags) {
  int32_t fd;
  std::memcpy(&fd, value, 4);
  HashOfMaps& s = state(m);
  auto ref = ref_inner_map(m.objects(), meta(m), fd);
  if (!ref) return ref.status();
  std::lock_guard g(s.held.mu);
  uint32_t slot = s.held.alloc_slot();
  if (slot == UINT32_MAX) {
    m.objects()->unref(*ref);
    return Status(ENOMEM, "too many replaced inner maps still held by running programs");
  }
  s.held.put(slot, &*ref);
  uint32_t old = UINT32_MAX;
  bool had_old = kHashOps.lookup(m, key, &old, 0).is_ok();
  if (Status st = kHashOps.update(m, key, &slot, flags); !st) {
    s.held.discard(slot);
    return st;
  }
  if (had_old) s.held.put(old, nullptr);
  return Status::ok();
}

Status remove(Map& m, const void* key) {
  HashOfMaps& s = state(m);
  std::lock_guard g(s.held.mu);
  s.held.reclaim();
  uint32_t old;
  if (Status st = kHashOps.lookup(m, key, &old, 0); !st) return st;
  if (Status st = kHashOps.delete_elem(m, key); !st) return st;
  s.held.put(old, nullptr);
  return Status::ok();
}

Status get_next_key(Map& m, const void* key, void* next_key) {
  return kHashOps.get_next_key(m, key, next_key);
}

// The hash's batch gives slots: turned into ids, and slots deleted with their elements released.
Status lookup_batch(Map& m, const void* in_batch, void* out_batch, void* keys, void* values,
                    uint32_t* count, uint64_t elem_flags, bool and_delete) {
  HashOfMaps& s = state(m);
  std::lock_guard g(s.held.mu);
  Status st =
      hash_lookup_batch(m, in_batch, out_batch, keys, values, count, elem_flags, and_delete);
  auto* v = static_cast<uint32_t*>(values);
  for (uint32_t i = 0; i < *count; ++i) {
    uint32_t slot = v[i];
    v[i] = s.held.id(slot);
    if (and_delete) s.held.put(slot, nullptr);
  }
  return st;
}

constexpr MapOps make_ops() {
  MapOps o{.name = "BPF_MAP_TYPE_HASH_OF_MAPS"};
  o.alloc_check = alloc_check;
  o.resolve = resolve_inner_map_meta;
  o.arena_size = arena_size;
  o.init = init;
  o.bind = bind;
  o.unbind = unbind;
  o.lookup = lookup;
  o.update = update;
  o.delete_elem = remove;
  o.get_next_key = get_next_key;
  o.lookup_batch = lookup_batch;
  o.batch_ops = kBatchAll;
  return o;
}

}  // namespace

const MapOps kHashOfMapsOps = make_ops();

}  // namespace bpfbox::maps
