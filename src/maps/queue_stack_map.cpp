// BPF_MAP_TYPE_QUEUE and BPF_MAP_TYPE_STACK (the kernel's queue_stack_maps.c): a ring of
// max_entries + 1 value slots in the arena, head and tail indices, one lock.
#include <string>

#include "maps/map_ops.hpp"

namespace bpfbox::maps {

namespace {

struct RingLayout {
  SpinLock lock;
  uint32_t head;  // next slot to write
  uint32_t tail;  // oldest element
  uint32_t size;  // max_entries + 1
};
constexpr uint64_t kRingOff = kMapHeaderSize;
constexpr uint64_t kElemsOff = kMapHeaderSize + 64;

RingLayout& ring(const Map& m) {
  return *reinterpret_cast<RingLayout*>(m.arena_base() + kRingOff);
}
uint8_t* slot(const Map& m, uint32_t i) {
  return m.arena_base() + kElemsOff + uint64_t(i) * m.value_size();
}

Status alloc_check(const MapAttr& a) {
  if (a.max_entries == 0 || a.key_size != 0 || a.value_size == 0 ||
      (a.map_flags & ~(BPF_F_NUMA_NODE | kAccessMask)) || !access_flags_ok(a.map_flags))
    return Status(EINVAL, a.key_size
                              ? "queue and stack maps take no key (key_size must be 0)"
                              : "bad max_entries, value_size or map_flags for a queue/stack");
  if (a.value_size > kKmallocMaxSize) return Status(E2BIG, "value_size too large");
  return Status::ok();
}

Result<uint64_t> arena_size(const MapAttr& a) {
  return kElemsOff - kMapHeaderSize + (uint64_t(a.max_entries) + 1) * a.value_size;
}

void init(const MapAttr& a, uint8_t* base) {
  auto* r = new (base + kRingOff) RingLayout();
  r->size = a.max_entries + 1;
}

bool is_empty(const RingLayout& r) {
  return r.head == r.tail;
}
bool is_full(const RingLayout& r) {
  uint32_t h = r.head + 1;
  if (h >= r.size) h = 0;
  return h == r.tail;
}

long push(Map& m, const void* value, uint64_t flags) {
  if ((flags & BPF_NOEXIST) || flags > BPF_EXIST) return -EINVAL;
  RingLayout& r = ring(m);
  SpinGuard g(r.lock);
  if (is_full(r)) {
    if (!(flags & BPF_EXIST)) return -E2BIG;
    if (++r.tail >= r.size) r.tail = 0;  // BPF_EXIST: drop the oldest
  }
  std::memcpy(slot(m, r.head), value, m.value_size());
  if (++r.head >= r.size) r.head = 0;
  return 0;
}

long queue_pop(Map& m, void* value, bool remove) {
  RingLayout& r = ring(m);
  SpinGuard g(r.lock);
  if (is_empty(r)) return -ENOENT;
  std::memcpy(value, slot(m, r.tail), m.value_size());
  if (remove && ++r.tail >= r.size) r.tail = 0;
  return 0;
}

long stack_pop(Map& m, void* value, bool remove) {
  RingLayout& r = ring(m);
  SpinGuard g(r.lock);
  if (is_empty(r)) return -ENOENT;
  uint32_t i = r.head == 0 ? r.size - 1 : r.head - 1;
  std::memcpy(value, slot(m, i), m.value_size());
  if (remove) r.head = i;
  return 0;
}

Status status(long err, const char* what) {
  if (!err) return Status::ok();
  const char* why = err == -ENOENT ? "empty" : err == -E2BIG ? "full" : "bad flags";
  return Status(static_cast<int>(-err), std::string(what) + ": " + why);
}

template <bool kStack>
long pop_any(Map& m, void* value, bool remove) {
  return kStack ? stack_pop(m, value, remove) : queue_pop(m, value, remove);
}

// Program side: bpf_map_push_elem / pop_elem / peek_elem.
long prog_push(Map* m, const void* value, uint64_t flags, uint32_t) {
  return push(*m, value, flags);
}
template <bool kStack>
long prog_pop(Map* m, void* value, uint32_t) {
  return pop_any<kStack>(*m, value, true);
}
template <bool kStack>
long prog_peek(Map* m, void* value, uint32_t) {
  return pop_any<kStack>(*m, value, false);
}
long prog_update(Map*, const void*, const void*, uint64_t, uint32_t) {
  return -EINVAL;
}
long prog_delete(Map*, const void*, uint32_t) {
  return -EINVAL;
}

Status sys_push(Map& m, const void* value, uint64_t flags) {
  return status(push(m, value, flags), "push");
}
template <bool kStack>
Status sys_pop(Map& m, void* value) {
  return status(pop_any<kStack>(m, value, true), "pop");
}
template <bool kStack>
Status sys_peek(Map& m, void* value) {
  return status(pop_any<kStack>(m, value, false), "peek");
}

template <bool kStack>
void bind(Map& m) {
  ProgOps p;
  p.update = prog_update;
  p.delete_elem = prog_delete;
  p.push = prog_push;
  p.pop = prog_pop<kStack>;
  p.peek = prog_peek<kStack>;
  MapBuilder::set_prog(m, p);
}

template <bool kStack>
constexpr MapOps make_ops(const char* name) {
  MapOps o{.name = name};
  o.alloc_check = alloc_check;
  o.arena_size = arena_size;
  o.init = init;
  o.bind = bind<kStack>;
  o.push = sys_push;
  o.pop = sys_pop<kStack>;
  o.peek = sys_peek<kStack>;
  o.missing_delete_errno = EINVAL;
  o.missing_get_next_key_errno = EINVAL;
  return o;
}

}  // namespace

const MapOps kQueueOps = make_ops<false>("BPF_MAP_TYPE_QUEUE");
const MapOps kStackOps = make_ops<true>("BPF_MAP_TYPE_STACK");

}  // namespace bpfbox::maps
