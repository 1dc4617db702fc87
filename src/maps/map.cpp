// Map creation and the syscall-side commands: the checks syscall.c makes before it reaches a map
// family (names, access flags, fd permissions, freeze), then the family's ops.
#include <algorithm>
#include <cctype>
#include <cstring>
#include <string>
#include <vector>

#include "maps/map_ops.hpp"
#include "maps/run_domain.hpp"

namespace bpfbox::maps {

namespace {

Status invalid(std::string msg) {
  return Status(EINVAL, std::move(msg));
}

// bpf_obj_name_cpy: alphanumerics, '_' and '.', NUL-terminated within BPF_OBJ_NAME_LEN.
Status check_name(const char (&name)[BPF_OBJ_NAME_LEN], char (&out)[BPF_OBJ_NAME_LEN]) {
  std::memset(out, 0, sizeof out);
  for (size_t i = 0; i < BPF_OBJ_NAME_LEN; ++i) {
    char c = name[i];
    if (c == 0) return Status::ok();
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.')
      return invalid(std::string("map name has character '") + c +
                     "': only letters, digits, '_' and '.' are allowed");
    out[i] = c;
  }
  return invalid("map name is not NUL-terminated within 16 bytes");
}

// Commands that need no family code when the family lacks them.
Status no_cmd(int err, const Map& m, const char* cmd) {
  return Status(err, std::string(cmd) + " is not supported by " + m.ops().name);
}

bool is_queue_stack(uint32_t t) {
  return t == BPF_MAP_TYPE_QUEUE || t == BPF_MAP_TYPE_STACK;
}
bool uses_push(uint32_t t) {
  return is_queue_stack(t) || t == BPF_MAP_TYPE_BLOOM_FILTER;
}
bool is_hash_family(uint32_t t) {
  return t == BPF_MAP_TYPE_HASH || t == BPF_MAP_TYPE_PERCPU_HASH || t == BPF_MAP_TYPE_LRU_HASH ||
         t == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

// Program-side stubs so engines never call through a null pointer.
void* stub_lookup(Map*, const void*, uint32_t) {
  return nullptr;
}
long stub_update(Map*, const void*, const void*, uint64_t, uint32_t) {
  return -EOPNOTSUPP;
}
long stub_delete(Map*, const void*, uint32_t) {
  return -EOPNOTSUPP;
}
long stub_push(Map*, const void*, uint64_t, uint32_t) {
  return -EOPNOTSUPP;
}
long stub_pop(Map*, void*, uint32_t) {
  return -EOPNOTSUPP;
}

void fill_stubs(ProgOps& p) {
  if (!p.lookup) p.lookup = stub_lookup;
  if (!p.update) p.update = stub_update;
  if (!p.delete_elem) p.delete_elem = stub_delete;
  if (!p.push) p.push = stub_push;
  if (!p.pop) p.pop = stub_pop;
  if (!p.peek) p.peek = stub_pop;
}

}  // namespace

Result<std::shared_ptr<Map>> Map::create(const union bpf_attr& attr, const CreateOptions& opts) {
  MapAttr a;
  a.map_type = attr.map_type;
  a.key_size = attr.key_size;
  a.value_size = attr.value_size;
  a.max_entries = attr.max_entries;
  a.map_flags = attr.map_flags;
  a.inner_map_fd = attr.inner_map_fd;
  a.numa_node = attr.numa_node;
  a.map_extra = attr.map_extra;
  a.spin_lock_off = opts.spin_lock_off;
  a.objects = opts.objects;

  if (a.map_type != BPF_MAP_TYPE_BLOOM_FILTER && a.map_type != 33 /* ARENA */ && a.map_extra)
    return invalid("map_extra is only meaningful for BPF_MAP_TYPE_BLOOM_FILTER");
  if ((a.map_flags & BPF_F_RDONLY) && (a.map_flags & BPF_F_WRONLY))
    return invalid("BPF_F_RDONLY and BPF_F_WRONLY are mutually exclusive");
  if ((a.map_flags & BPF_F_NUMA_NODE) && a.numa_node != 0)
    return invalid("numa_node " + std::to_string(a.numa_node) + " is not an online node");
  if (attr.map_ifindex) return invalid("device offload (map_ifindex) is not supported");
  const MapOps* ops = map_ops_for(a.map_type);
  if (!ops) return invalid("unknown map type " + std::to_string(a.map_type));
  bool percpu = a.map_type == BPF_MAP_TYPE_PERCPU_HASH || a.map_type == BPF_MAP_TYPE_PERCPU_ARRAY ||
                a.map_type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
  a.nr_cpus = percpu ? nr_possible_cpus() : 1;
  a.nr_cpus_possible = nr_possible_cpus();
  if (a.spin_lock_off >= 0 &&
      (a.value_size < 4 || uint32_t(a.spin_lock_off) > a.value_size - 4 || a.spin_lock_off % 4))
    return invalid("bpf_spin_lock at offset " + std::to_string(a.spin_lock_off) +
                   " does not fit a " + std::to_string(a.value_size) + "-byte value");
  if (Status st = ops->alloc_check(a); !st) return st;
  if (ops->resolve) {
    if (Status st = ops->resolve(a); !st) return st;
  }

  char name[BPF_OBJ_NAME_LEN];
  if (Status st = check_name(attr.map_name, name); !st) return st;

  auto size = ops->arena_size(a);
  if (!size) return size.status();
  std::string memfd_name = std::string("bpfbox-map:") + name;
  auto arena = Arena::create(memfd_name.c_str(), kMapHeaderSize + *size + kMapTrailerSize,
                             Arena::Backing::Storage);
  if (!arena) return arena.status();
  std::string domain_dir = storage_dir();
  std::memcpy(arena->base + arena->size - kMapTrailerSize, domain_dir.c_str(),
              std::min<size_t>(domain_dir.size(), kMapTrailerSize - 1));

  auto* h = new (arena->base) MapHeader();
  h->magic = MapHeader::kMagic;
  h->version = MapHeader::kVersion;
  h->map_type = a.map_type;
  h->key_size = a.key_size;
  h->value_size = a.value_size;
  h->max_entries = a.max_entries;
  h->map_flags = a.map_flags;
  h->map_extra = a.map_extra;
  std::memcpy(h->name, name, sizeof name);
  h->nr_cpus = a.nr_cpus;
  h->spin_lock_off = a.spin_lock_off;
  h->freeze_state.store(0);
  h->family_off = 0;
  h->domain_id = RunDomain::process().id();
  ops->init(a, arena->base);

  auto m = attach(arena->fd, opts.objects);
  arena->release();  // attach took its own fd and mapping
  return m;
}

Result<std::shared_ptr<Map>> Map::attach(int memfd, ObjectTable* objects) {
  auto arena = Arena::attach(memfd);
  if (!arena) return arena.status();
  auto* h = reinterpret_cast<MapHeader*>(arena->base);
  if (arena->size < kMapHeaderSize || h->magic != MapHeader::kMagic ||
      h->version != MapHeader::kVersion) {
    arena->release();
    return invalid("fd does not hold a bpfbox map");
  }
  const MapOps* ops = map_ops_for(h->map_type);
  if (!ops) {
    arena->release();
    return invalid("map storage has unknown map type " + std::to_string(h->map_type));
  }
  // Runs of this process must hold back reuse of the map's elements wherever they are deleted:
  // the map's processes share one run domain, the storage directory's. A process attaching a map
  // of another directory joins it (if no map of its own is alive). A memfd domain is shared only
  // by forked children: other processes attach as before, their runs not holding back reuse in
  // the creator's (use a storage directory for that).
  if (h->domain_id != RunDomain::process().id() && arena->size >= kMapTrailerSize) {
    const char* tr = reinterpret_cast<const char*>(arena->base + arena->size - kMapTrailerSize);
    std::string dir(tr, strnlen(tr, kMapTrailerSize - 1));
    if (!dir.empty()) {
      Status st = set_storage_dir(dir);
      if (!st || h->domain_id != RunDomain::process().id()) {
        arena->release();
        return invalid(
            "map belongs to the run domain of storage directory " + dir +
            (st ? std::string(", which holds another domain now") : ": " + st.message()));
      }
    }
  }
  std::shared_ptr<Map> m(new Map());
  m->ops_ = ops;
  m->type_ = h->map_type;
  m->key_size_ = h->key_size;
  m->value_size_ = h->value_size;
  m->max_entries_ = h->max_entries;
  m->map_flags_ = h->map_flags;
  m->map_extra_ = h->map_extra;
  std::memcpy(m->name_, h->name, sizeof m->name_);
  m->nr_cpus_ = h->nr_cpus;
  m->percpu_ = h->map_type == BPF_MAP_TYPE_PERCPU_HASH ||
               h->map_type == BPF_MAP_TYPE_PERCPU_ARRAY ||
               h->map_type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
  m->spin_lock_off_ = h->spin_lock_off;
  m->memfd_ = arena->fd;
  m->arena_size_ = arena->size;
  m->base_ = arena->base;
  m->objects_ = objects;
  ops->bind(*m);
  fill_stubs(m->prog_);
  note_map_alive(1);
  m->alive_ = true;
  return m;
}

void MapBuilder::set_inner_map_meta(Map& m, const InnerMapMeta& meta) {
  std::unique_ptr<Map> t(new Map());
  t->ops_ = map_ops_for(meta.map_type);
  t->type_ = meta.map_type;
  t->key_size_ = meta.key_size;
  t->value_size_ = meta.value_size;
  t->max_entries_ = meta.max_entries;
  t->map_flags_ = meta.map_flags;
  t->percpu_ = meta.map_type == BPF_MAP_TYPE_PERCPU_HASH ||
               meta.map_type == BPF_MAP_TYPE_PERCPU_ARRAY ||
               meta.map_type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
  t->nr_cpus_ = t->percpu_ ? nr_possible_cpus() : 1;
  t->spin_lock_off_ = meta.spin_lock_off();
  // Every inner array has this layout; only the base (its storage) differs.
  if (meta.map_type == BPF_MAP_TYPE_ARRAY || meta.map_type == BPF_MAP_TYPE_PERCPU_ARRAY)
    t->inline_ = array_layout(*t);
  fill_stubs(t->prog_);
  m.inner_meta_ = std::move(t);
}

uint32_t Map::inline_base_offset() {
  static const uint32_t off = [] {
    const Map probe;
    return uint32_t(reinterpret_cast<const uint8_t*>(&probe.inline_.base) -
                    reinterpret_cast<const uint8_t*>(&probe));
  }();
  return off;
}

Map::~Map() {
  // A template (no storage) was never bound.
  if (ops_ && ops_->unbind && base_) ops_->unbind(*this);
  if (alive_) note_map_alive(-1);
  Arena{memfd_, base_, arena_size_}.release();
}

uint32_t Map::value_copy_size() const {
  return percpu_ ? round8(value_size_) * nr_cpus_ : value_size_;
}

bool Map::frozen() const {
  return header_of(*this)->freeze_state.load(std::memory_order_acquire) & MapHeader::kFrozen;
}

int Map::memfd() const {
  return memfd_;
}
uint64_t Map::arena_size() const {
  return arena_size_;
}

// The fd permissions syscall.c checks (map_get_sys_perms): a frozen map is read-only to syscalls.
static bool can_read(const Map& m) {
  return !(m.map_flags() & BPF_F_WRONLY);
}
static bool can_write(const Map& m) {
  return !(m.map_flags() & BPF_F_RDONLY) && !m.frozen();
}

static Status no_write(const Map& m) {
  return Status(EPERM, m.frozen() ? "map is frozen: syscall-side writes are refused"
                                  : "map was created with BPF_F_RDONLY");
}
static Status no_read() {
  return Status(EPERM, "map was created with BPF_F_WRONLY");
}
static Status no_lock() {
  return invalid("BPF_F_LOCK needs a struct bpf_spin_lock in the map value");
}

Status Map::lookup(const void* key, void* value, uint64_t flags) {
  if (flags & ~uint64_t(BPF_F_LOCK)) return invalid("lookup flags may only be BPF_F_LOCK");
  if (!can_read(*this)) return no_read();
  if ((flags & BPF_F_LOCK) && spin_lock_off_ < 0) return no_lock();
  if (uses_push(type_)) return ops_->peek(*this, value);
  if (!ops_->lookup) return no_cmd(kENOTSUPP, *this, "lookup");
  return ops_->lookup(*this, key, value, flags);
}

Status Map::update(const void* key, const void* value, uint64_t flags) {
  if (!can_write(*this)) return no_write(*this);
  if ((flags & BPF_F_LOCK) && spin_lock_off_ < 0) return no_lock();
  if (uses_push(type_)) return ops_->push(*this, value, flags);
  if (!ops_->update) return no_cmd(kENOTSUPP, *this, "update");
  return ops_->update(*this, key, value, flags);
}

Status Map::delete_elem(const void* key) {
  if (!can_write(*this)) return no_write(*this);
  if (!ops_->delete_elem) return no_cmd(ops_->missing_delete_errno, *this, "delete");
  return ops_->delete_elem(*this, key);
}

Status Map::get_next_key(const void* key, void* next_key) {
  if (!can_read(*this)) return no_read();
  if (!ops_->get_next_key) return no_cmd(ops_->missing_get_next_key_errno, *this, "get_next_key");
  return ops_->get_next_key(*this, key, next_key);
}

Status Map::lookup_and_delete(const void* key, void* value, uint64_t flags) {
  if (flags & ~uint64_t(BPF_F_LOCK))
    return invalid("lookup_and_delete flags may only be BPF_F_LOCK");
  if (!can_read(*this)) return no_read();
  if (!can_write(*this)) return no_write(*this);
  if (flags && is_queue_stack(type_)) return invalid("pop takes no flags");
  if ((flags & BPF_F_LOCK) && spin_lock_off_ < 0) return no_lock();
  if (is_queue_stack(type_)) return ops_->pop(*this, value);
  if (is_hash_family(type_) && ops_->lookup_and_delete)
    return ops_->lookup_and_delete(*this, key, value, flags);
  return no_cmd(kENOTSUPP, *this, "lookup_and_delete");
}

Status Map::freeze() {
  if (type_ == BPF_MAP_TYPE_STRUCT_OPS || spin_lock_off_ >= 0)
    return Status(kENOTSUPP, "maps with special fields (bpf_spin_lock) cannot be frozen");
  if (!can_write(*this)) return no_write(*this);
  uint32_t expected = 0;
  if (header_of(*this)->freeze_state.compare_exchange_strong(expected, MapHeader::kFrozen))
    return Status::ok();
  if (expected & MapHeader::kFrozen) return no_write(*this);
  return Status(EBUSY, "a writable mapping of the map exists");
}

// bpf_map_mmap's VM_WRITE rules, with freeze_state standing for freeze_mutex + writecnt.
Status Map::acquire_writable_mapping() {
  std::atomic<uint32_t>& state = header_of(*this)->freeze_state;
  uint32_t cur = state.load(std::memory_order_acquire);
  do {
    if (cur & MapHeader::kFrozen)
      return Status(EPERM, "map is frozen: it cannot be mapped writable");
    if (map_flags_ & BPF_F_RDONLY_PROG)
      return Status(EACCES,
                    "map is read-only to programs (BPF_F_RDONLY_PROG): no writable mapping");
  } while (!state.compare_exchange_weak(cur, cur + 1, std::memory_order_acq_rel));
  return Status::ok();
}

void Map::release_writable_mapping() {
  header_of(*this)->freeze_state.fetch_sub(1, std::memory_order_acq_rel);
}

Result<MmapRegion> Map::mmap_region() const {
  if (!ops_->mmap_region) return no_cmd(kENOTSUPP, *this, "mmap");
  return ops_->mmap_region(*this);
}

// Batches, as bpf_map_do_batch: fd permissions, then ENOTSUPP for types without the command, then
// the family's batch (the hash's bucket cursor) or the generic one (a key cursor walked with
// get_next_key; elements deleted meanwhile are skipped).
static Status batch_checks(const Map& m, uint8_t cmd, bool read, bool write, uint64_t elem_flags) {
  if (read && !can_read(m)) return no_read();
  if (write && !can_write(m)) return no_write(m);
  if (!(m.ops().batch_ops & cmd))
    return Status(kENOTSUPP, std::string("this batch command is not supported by ") + m.ops().name);
  if (elem_flags & ~uint64_t(BPF_F_LOCK)) return invalid("batch elem_flags may only be BPF_F_LOCK");
  if ((elem_flags & BPF_F_LOCK) && m.spin_lock_off() < 0) return no_lock();
  return Status::ok();
}

uint32_t Map::batch_cursor_size() const {
  return ops_->lookup_batch ? 4u : key_size_;  // the family's batch uses a bucket cursor
}

Status Map::lookup_batch(const void* in_batch, void* out_batch, void* keys, void* values,
                         uint32_t* count, uint64_t elem_flags, bool and_delete, uint64_t flags) {
  uint8_t cmd = and_delete ? kBatchLookupAndDelete : kBatchLookup;
  if (Status st = batch_checks(*this, cmd, true, and_delete, elem_flags); !st) return st;
  if (ops_->lookup_batch) {
    if (flags) return invalid("batch flags must be 0");
    return ops_->lookup_batch(*this, in_batch, out_batch, keys, values, count, elem_flags,
                              and_delete);
  }
  uint32_t max = *count;
  if (max == 0) return Status::ok();
  *count = 0;
  std::vector<uint8_t> prev(key_size_), cur(key_size_);
  bool have_prev = in_batch != nullptr;
  if (have_prev) std::memcpy(prev.data(), in_batch, key_size_);
  auto* kout = static_cast<uint8_t*>(keys);
  auto* vout = static_cast<uint8_t*>(values);
  uint32_t vsize = value_copy_size();
  Status st;
  while (*count < max) {
    st = ops_->get_next_key(*this, have_prev ? prev.data() : nullptr, cur.data());
    if (!st) break;
    Status ls = ops_->lookup(*this, cur.data(), vout + uint64_t(*count) * vsize, elem_flags);
    if (ls.err() == ENOENT) {  // an empty slot or deleted meanwhile: skip it
      std::swap(prev, cur);
      have_prev = true;
      continue;
    }
    if (!ls) return ls;
    std::memcpy(kout + uint64_t(*count) * key_size_, cur.data(), key_size_);
    ++*count;
    std::swap(prev, cur);
    have_prev = true;
  }
  if (*count > 0) std::memcpy(out_batch, prev.data(), key_size_);
  if (!st && st.err() == ENOENT) return Status(ENOENT, "end of map reached");
  return st;
}

Status Map::update_batch(const void* keys, const void* values, uint32_t* count,
                         uint64_t elem_flags) {
  if (Status st = batch_checks(*this, kBatchUpdate, false, true, elem_flags); !st) return st;
  uint32_t max = *count;
  *count = 0;
  auto* k = static_cast<const uint8_t*>(keys);
  auto* v = static_cast<const uint8_t*>(values);
  for (uint32_t i = 0; i < max; ++i) {
    if (Status st =
            update(k + uint64_t(i) * key_size_, v + uint64_t(i) * value_copy_size(), elem_flags);
        !st)
      return st;
    ++*count;
  }
  return Status::ok();
}

Status Map::delete_batch(const void* keys, uint32_t* count, uint64_t elem_flags) {
  if (Status st = batch_checks(*this, kBatchDelete, false, true, elem_flags); !st) return st;
  uint32_t max = *count;
  *count = 0;
  auto* k = static_cast<const uint8_t*>(keys);
  for (uint32_t i = 0; i < max; ++i) {
    if (Status st = delete_elem(k + uint64_t(i) * key_size_); !st) return st;
    ++*count;
  }
  return Status::ok();
}

}  // namespace bpfbox::maps
