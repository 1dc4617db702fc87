// The kernel's fd arrays (arraymap.c): BPF_MAP_TYPE_PROG_ARRAY (prog fds in, prog ids out, the
// tail-call table), BPF_MAP_TYPE_ARRAY_OF_MAPS (map fds in, map ids out) and
// BPF_MAP_TYPE_PERF_EVENT_ARRAY (perf event fds in; bpf_perf_event_output writes to them).
//
// Layout after the MapHeader: an FdArrayLayout (PROG_ARRAY's owner program type, the inner map
// template), then max_entries u32 ids (0: empty). The references themselves are process-local
// (HeldObjects, map.held): engines and helpers load a slot's pointer lock-free.
#include <cstring>
#include <string>

#include "maps/held_objects.hpp"
#include "maps/inner_map_meta.hpp"
#include "maps/map_ops.hpp"

namespace bpfbox::maps {

namespace {

struct FdArrayLayout {
  // PROG_ARRAY: BPF_PROG_TYPE_* + 1 once a program is bound, kOwnerJited set when it was JITed
  // (one word, so a reader never sees a type without its jited bit).
  std::atomic<uint32_t> owner_type;
  uint32_t reserved;
  InnerMapMeta inner;  // ARRAY_OF_MAPS
};
constexpr uint32_t kOwnerJited = 1u << 31;
constexpr uint64_t kLayoutOff = kMapHeaderSize;
constexpr uint64_t kIdsOff = kMapHeaderSize + 64;
static_assert(sizeof(FdArrayLayout) <= 64);

constexpr uint32_t kArrayCreateFlags =
    BPF_F_NUMA_NODE | BPF_F_MMAPABLE | kAccessMask | BPF_F_PRESERVE_ELEMS | BPF_F_INNER_MAP;

FdArrayLayout& layout(const Map& m) {
  return *reinterpret_cast<FdArrayLayout*>(m.arena_base() + kLayoutOff);
}
HeldObjects& held(const Map& m) {
  return *static_cast<HeldObjects*>(m.held);
}

// fd_array_map_alloc_check, then array_map_alloc_check.
Status alloc_check(const MapAttr& a) {
  if (a.value_size != 4) return Status(EINVAL, "fd arrays hold 4-byte fds: value_size must be 4");
  if (a.map_flags & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG))
    return Status(EINVAL, "BPF_F_RDONLY_PROG and BPF_F_WRONLY_PROG are refused for fd arrays");
  if (a.max_entries == 0) return Status(EINVAL, "max_entries must be > 0");
  if (a.key_size != 4)
    return Status(EINVAL, "fd arrays need key_size 4, got " + std::to_string(a.key_size));
  if (a.map_flags & ~kArrayCreateFlags)
    return Status(EINVAL, "unsupported map_flags for an fd array");
  if (a.map_flags & (BPF_F_MMAPABLE | BPF_F_INNER_MAP))
    return Status(EINVAL, "BPF_F_MMAPABLE and BPF_F_INNER_MAP are for BPF_MAP_TYPE_ARRAY only");
  if (a.map_type != BPF_MAP_TYPE_PERF_EVENT_ARRAY && (a.map_flags & BPF_F_PRESERVE_ELEMS))
    return Status(EINVAL, "BPF_F_PRESERVE_ELEMS is for BPF_MAP_TYPE_PERF_EVENT_ARRAY only");
  return Status::ok();
}

Result<uint64_t> arena_size(const MapAttr& a) {
  return kIdsOff - kMapHeaderSize + uint64_t(a.max_entries) * 4;
}

void init(const MapAttr& a, uint8_t* base) {
  auto* l = new (base + kLayoutOff) FdArrayLayout();
  l->inner = a.inner;
}

void* prog_lookup_inner_map(Map* m, const void* key, uint32_t) {
  uint32_t idx;
  std::memcpy(&idx, key, 4);
  if (idx >= m->max_entries()) return nullptr;
  return held(*m).ptr(idx);
}

void bind(Map& m) {
  m.impl = &layout(m);
  const ObjectKind kind = m.type() == BPF_MAP_TYPE_PROG_ARRAY         ? ObjectKind::Prog
                          : m.type() == BPF_MAP_TYPE_PERF_EVENT_ARRAY ? ObjectKind::PerfEvent
                                                                      : ObjectKind::Map;
  m.held = new HeldObjects(m.objects(), m.max_entries(),
                           reinterpret_cast<std::atomic<uint32_t>*>(m.arena_base() + kIdsOff),
                           /*allocates=*/false, kind);
  if (m.type() == BPF_MAP_TYPE_ARRAY_OF_MAPS) {
    ProgOps p;
    p.lookup = prog_lookup_inner_map;
    MapBuilder::set_prog(m, p);
    MapBuilder::set_inner_map_meta(m, layout(m).inner);
  }
  held(m).adopt_ids();  // attached in another process (perf events have no ids to resolve)
}

void unbind(Map& m) {
  delete static_cast<HeldObjects*>(m.held);
  m.held = nullptr;
  m.impl = nullptr;
}

// map_fd_sys_lookup_elem: the id of the object in the slot. PERF_EVENT_ARRAY has none.
Status lookup(Map& m, const void* key, void* value, uint64_t) {
  if (m.type() == BPF_MAP_TYPE_PERF_EVENT_ARRAY)
    return Status(kENOTSUPP, "lookup is not supported by BPF_MAP_TYPE_PERF_EVENT_ARRAY");
  uint32_t idx;
  std::memcpy(&idx, key, 4);
  uint32_t id = idx < m.max_entries() ? held(m).id(idx) : 0;
  if (!id) return Status(ENOENT, "lookup: the slot is empty");
  std::memcpy(value, &id, 4);
  return Status::ok();
}

// map_fd_get_ptr: the object behind the fd, with the map's reference on it.
Result<ObjectRef> get_ref(Map& m, int fd) {
  ObjectTable* objects = m.objects();
  if (!objects) return Status(EBADF, "fds cannot be resolved: the map has no object table");
  switch (m.type()) {
    case BPF_MAP_TYPE_PROG_ARRAY: {
      auto ref = objects->ref_prog_fd(fd);
      if (!ref) return ref;
      Status st = ref->prog_type == BPF_PROG_TYPE_EXT
                      ? Status(EINVAL, "BPF_PROG_TYPE_EXT programs cannot be tail-called")
                      : m.prog_array_compatible(
                            ref->prog_type,
                            ref->exec && std::strcmp(ref->exec->engine_name(), "interp") != 0);
      if (!st) {
        objects->unref(*ref);
        return st;
      }
      return ref;
    }
    case BPF_MAP_TYPE_ARRAY_OF_MAPS:
      return ref_inner_map(objects, layout(m).inner, fd);
    default:
      return objects->ref_perf_event_fd(fd);
  }
}

// bpf_fd_array_map_update_elem: BPF_ANY only, the index, then the fd; one atomic exchange.
Status update(Map& m, const void* key, const void* value, uint64_t flags) {
  if (flags != BPF_ANY) return Status(EINVAL, "fd arrays take BPF_ANY only");
  uint32_t idx;
  std::memcpy(&idx, key, 4);
  if (idx >= m.max_entries())
    return Status(E2BIG, "index out of range: fd array elements cannot be added");
  int32_t fd;
  std::memcpy(&fd, value, 4);
  auto ref = get_ref(m, fd);
  if (!ref) return ref.status();
  HeldObjects& h = held(m);
  std::lock_guard g(h.mu);
  h.put(idx, &*ref);
  return Status::ok();
}

Status remove(Map& m, const void* key) {
  uint32_t idx;
  std::memcpy(&idx, key, 4);
  if (idx >= m.max_entries()) return Status(E2BIG, "index out of range");
  HeldObjects& h = held(m);
  std::lock_guard g(h.mu);
  h.reclaim();
  if (!h.put(idx, nullptr)) return Status(ENOENT, "delete: the slot is empty");
  return Status::ok();
}

Status get_next_key(Map& m, const void* key, void* next_key) {
  uint32_t idx = UINT32_MAX, next = 0;
  if (key) std::memcpy(&idx, key, 4);
  if (key && idx < m.max_entries()) {
    if (idx == m.max_entries() - 1) return Status(ENOENT, "last index");
    next = idx + 1;
  }
  std::memcpy(next_key, &next, 4);
  return Status::ok();
}

constexpr MapOps make_ops(const char* name, uint8_t batch_ops) {
  MapOps o{.name = name};
  o.alloc_check = alloc_check;
  o.arena_size = arena_size;
  o.init = init;
  o.bind = bind;
  o.unbind = unbind;
  o.lookup = lookup;
  o.update = update;
  o.delete_elem = remove;
  o.get_next_key = get_next_key;
  o.batch_ops = batch_ops;
  return o;
}

}  // namespace

const MapOps kProgArrayOps = make_ops("BPF_MAP_TYPE_PROG_ARRAY", 0);
const MapOps kPerfEventArrayOps = make_ops("BPF_MAP_TYPE_PERF_EVENT_ARRAY", 0);
const MapOps kArrayOfMapsOps = [] {
  MapOps o = make_ops("BPF_MAP_TYPE_ARRAY_OF_MAPS", kBatchLookup | kBatchUpdate);
  o.resolve = resolve_inner_map_meta;
  return o;
}();

// bpf_prog_map_compatible: the first program binds the owner type; others must match it.
Status Map::prog_array_compatible(uint32_t prog_type, bool jited) {
  if (type_ != BPF_MAP_TYPE_PROG_ARRAY) return Status::ok();
  uint32_t expected = 0;
  std::atomic<uint32_t>& owner = layout(*this).owner_type;
  if (owner.compare_exchange_strong(expected, (prog_type + 1) | (jited ? kOwnerJited : 0)) ||
      (expected & ~kOwnerJited) == prog_type + 1)
    return Status::ok();
  return Status(EINVAL, "the program array holds programs of type " +
                            std::to_string((expected & ~kOwnerJited) - 1) + ", not " +
                            std::to_string(prog_type));
}

std::optional<Map::ProgArrayOwner> Map::prog_array_owner() const {
  if (type_ != BPF_MAP_TYPE_PROG_ARRAY) return std::nullopt;
  const uint32_t o = layout(*this).owner_type.load(std::memory_order_acquire);
  if (!o) return std::nullopt;
  return ProgArrayOwner{(o & ~kOwnerJited) - 1, (o & kOwnerJited) != 0};
}

const vm::Executable* prog_array_lookup(void* map, uint32_t index) {
  auto* m = static_cast<Map*>(map);
  if (m->type() != BPF_MAP_TYPE_PROG_ARRAY || index >= m->max_entries()) return nullptr;
  return static_cast<const vm::Executable*>(held(*m).ptr(index));
}

vm::TailCallSlot prog_array_slot(void* map, uint32_t index) {
  auto* m = static_cast<Map*>(map);
  if (m->type() != BPF_MAP_TYPE_PROG_ARRAY || index >= m->max_entries()) return {};
  return held(*m).words(index);
}

long perf_event_output(Map* m, uint64_t flags, const void* data, uint64_t size, uint32_t cpu) {
  if (m->type() != BPF_MAP_TYPE_PERF_EVENT_ARRAY || (flags & ~uint64_t(BPF_F_INDEX_MASK)))
    return -EINVAL;
  uint64_t index = flags & BPF_F_INDEX_MASK;
  if (index == BPF_F_CURRENT_CPU) index = cpu;
  if (index >= m->max_entries()) return -E2BIG;
  auto* ring = static_cast<PerfEventRing*>(held(*m).ptr(static_cast<uint32_t>(index)));
  if (!ring) return -ENOENT;
  // The kernel's event->oncpu != cpu: a disabled event is on no CPU.
  if (!ring->enabled() || (ring->cpu() >= 0 && static_cast<uint32_t>(ring->cpu()) != cpu))
    return -EOPNOTSUPP;
  if (!ring->mapped()) return -ENOSPC;  // no ring buffer: nothing counts a lost sample either
  return ring->output(data, size);
}

}  // namespace bpfbox::maps
