// BPF_MAP_TYPE_DEVMAP (the kernel's devmap.c): an array of struct bpf_devmap_val, an ifindex that
// must name a network device of this host and, with value_size 8, an XDP program (fd in, id out).
// An entry is one 64-bit word (ifindex | prog id << 32; ifindex 0 is "empty"), so programs read it
// without locks. BPF_MAP_TYPE_DEVMAP_HASH is the hash family with the kernel's identity hash
// (hash_map.cpp), sharing the value checks here.
#include <net/if.h>

#include <string>

#include "maps/map_ops.hpp"

namespace bpfbox::maps {

constexpr uint32_t kDevCreateFlags = BPF_F_NUMA_NODE | kAccessMask;

Status devmap_alloc_check(const MapAttr& a) {
  if (a.max_entries == 0 || a.key_size != 4 || (a.value_size != 4 && a.value_size != 8) ||
      (a.map_flags & ~kDevCreateFlags))
    return Status(EINVAL,
                  "device maps need key_size 4, value_size 4 or 8 (struct "
                  "bpf_devmap_val) and max_entries > 0");
  return Status::ok();
}

Result<uint64_t> devmap_value(const Map& m, const void* value) {
  uint32_t ifindex = 0;
  int32_t prog_fd = 0;
  std::memcpy(&ifindex, value, 4);
  if (m.value_size() >= 8) std::memcpy(&prog_fd, static_cast<const uint8_t*>(value) + 4, 4);
  if (prog_fd > 0)
    return Status(EINVAL, "XDP programs in device map entries need the object table (not yet)");
  char name[IF_NAMESIZE];
  if (ifindex && !if_indextoname(ifindex, name))
    return Status(EINVAL, "ifindex " + std::to_string(ifindex) + " names no network device");
  return uint64_t(ifindex);  // prog id 0: no program
}

namespace {

std::atomic<uint64_t>* entries(const Map& m) {
  return reinterpret_cast<std::atomic<uint64_t>*>(m.arena_base() + kMapHeaderSize);
}

Result<uint64_t> arena_size(const MapAttr& a) {
  return uint64_t(a.max_entries) * 8;
}
void init(const MapAttr&, uint8_t*) {}

void* prog_lookup(Map* m, const void* key, uint32_t) {
  uint32_t k;
  std::memcpy(&k, key, 4);
  if (k >= m->max_entries()) return nullptr;
  std::atomic<uint64_t>* e = &entries(*m)[k];
  return e->load(std::memory_order_acquire) ? e : nullptr;
}

void bind(Map& m) {
  ProgOps p;
  p.lookup = prog_lookup;
  MapBuilder::set_prog(m, p);
}

Status lookup(Map& m, const void* key, void* value, uint64_t) {
  uint32_t k;
  std::memcpy(&k, key, 4);
  uint64_t w = k < m.max_entries() ? entries(m)[k].load(std::memory_order_acquire) : 0;
  if (!w) return Status(ENOENT, "no device at this index");
  std::memcpy(value, &w, m.value_size());
  return Status::ok();
}

Status update(Map& m, const void* key, const void* value, uint64_t flags) {
  uint32_t k;
  std::memcpy(&k, key, 4);
  if (flags > BPF_EXIST) return Status(EINVAL, "bad update flags");
  if (k >= m.max_entries()) return Status(E2BIG, "index out of range");
  if (flags == BPF_NOEXIST) return Status(EEXIST, "BPF_NOEXIST: device map entries always exist");
  auto w = devmap_value(m, value);
  if (!w) return w.status();
  entries(m)[k].store(*w, std::memory_order_release);
  return Status::ok();
}

Status remove(Map& m, const void* key) {
  uint32_t k;
  std::memcpy(&k, key, 4);
  if (k >= m.max_entries()) return Status(EINVAL, "index out of range");
  entries(m)[k].store(0, std::memory_order_release);
  return Status::ok();
}

Status get_next_key(Map& m, const void* key, void* next_key) {
  uint32_t k = UINT32_MAX, next = 0;
  if (key) std::memcpy(&k, key, 4);
  if (key && k < m.max_entries()) {
    if (k == m.max_entries() - 1) return Status(ENOENT, "last index");
    next = k + 1;
  }
  std::memcpy(next_key, &next, 4);
  return Status::ok();
}

constexpr MapOps make_ops() {
  MapOps o{.name = "BPF_MAP_TYPE_DEVMAP"};
  o.alloc_check = devmap_alloc_check;
  o.arena_size = arena_size;
  o.init = init;
  o.bind = bind;
  o.lookup = lookup;
  o.update = update;
  o.delete_elem = remove;
  o.get_next_key = get_next_key;
  return o;
}

}  // namespace

const MapOps kDevmapOps = make_ops();

}  // namespace bpfbox::maps
