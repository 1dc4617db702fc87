// BPF_MAP_* commands: syscall.c's order of checks (CHECK_ATTR in the dispatcher, then flags, the
// fd, the fd's access mode, the key), the copies between the caller's buffers and the map, and
// the kernel's errno. The maps themselves (src/maps) apply the per-type rules.
#include <fcntl.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "sys/btf.hpp"
#include "sys/map_btf.hpp"
#include "sys/user_mem.hpp"
#include "sys/commands.hpp"
#include "sys/objects.hpp"

namespace bpfbox::sys {

namespace {

Result<std::shared_ptr<maps::Map>> map_of(int fd, std::shared_ptr<Object>* hold = nullptr) {
  auto obj = Objects::get().by_fd(fd, Kind::Map);
  if (!obj) return obj.status();
  if (hold) *hold = *obj;
  if (!(*obj)->map) return Status(EBADF, "the map is gone");
  return (*obj)->map;
}

Status no_read() {
  return Status(EPERM, "the map fd was opened write-only");
}
Status no_write(const maps::Map& m) {
  return Status(EPERM, m.frozen() ? "the map is frozen" : "the map fd was opened read-only");
}

// The fd's mode with freeze applied, as map_get_sys_perms().
bool can_write(int fd, const maps::Map& m) {
  return fd_can_write(fd) && !m.frozen();
}

// __bpf_copy_key: the key, or EFAULT for a null pointer when the map has keys.
Status key_in(const maps::Map& m, uint64_t ukey, std::vector<uint8_t>& key) {
  key.resize(m.key_size());
  if (m.key_size() == 0) return Status::ok();
  if (Status st = copy_from_user(key.data(), ukey, m.key_size()); !st)
    return Status(EFAULT, "key: " + st.message());
  return Status::ok();
}

Status out(uint64_t uptr_v, const void* src, size_t n) {
  if (n == 0) return Status::ok();
  return copy_to_user(uptr_v, src, n);
}

int file_flags(uint32_t flags) {
  if (flags & BPF_F_RDONLY) return O_RDONLY;
  if (flags & BPF_F_WRONLY) return O_WRONLY;
  return O_RDWR;
}

}  // namespace

CmdResult map_create(Call& c) {
  const union bpf_attr& a = c.attr.a;
  if ((a.map_flags & BPF_F_RDONLY) && (a.map_flags & BPF_F_WRONLY))
    return Status(EINVAL, "BPF_F_RDONLY and BPF_F_WRONLY are mutually exclusive");
  if (a.btf_vmlinux_value_type_id && a.map_type != BPF_MAP_TYPE_STRUCT_OPS)
    return Status(EINVAL, "btf_vmlinux_value_type_id is for struct_ops maps");
  maps::CreateOptions opts;
  opts.objects = &Objects::get();
  // The BTF with its types checked (map_check_btf); a key type needs a value type.
  if (a.btf_key_type_id && !a.btf_value_type_id)
    return Status(EINVAL, "btf_key_type_id without btf_value_type_id");
  MapBtf mb;
  if (a.btf_key_type_id || a.btf_value_type_id) {
    auto b = Objects::get().by_fd(int(a.btf_fd), Kind::Btf);
    if (!b) return b.status();
    mb.btf = (*b)->btf;
    mb.btf_id = (*b)->id;
    mb.key_type_id = a.btf_key_type_id;
    mb.value_type_id = a.btf_value_type_id;
  }
  if (a.btf_value_type_id) {
    int32_t v = -1;
    if (Status st = map_check_btf(*mb.btf, a, &v); !st) return st;
    opts.spin_lock_off = v;
    if (v >= 0 && (a.map_flags & BPF_F_RDONLY_PROG))
      return Status(EACCES, "a bpf_spin_lock in a BPF_F_RDONLY_PROG map");
    if (v >= 0 && a.map_type != BPF_MAP_TYPE_HASH && a.map_type != BPF_MAP_TYPE_ARRAY)
      return Status(maps::kENOTSUPP, "bpf_spin_lock in a map type that cannot hold one");
  }
  auto m = maps::Map::create(a, opts);
  if (!m) return m.status();
  auto obj = std::make_shared<Object>();
  obj->kind = Kind::Map;
  obj->map = *m;
  obj->map_btf = mb;
  auto fd = Objects::get().install(obj, file_flags(a.map_flags));
  if (!fd) return fd.status();
  save_map_btf(obj->id, mb);
  return long(*fd);
}

CmdResult map_lookup_elem(Call& c) {
  const union bpf_attr& a = c.attr.a;
  if (a.flags & ~uint64_t(BPF_F_LOCK)) return Status(EINVAL, "lookup flags may only be BPF_F_LOCK");
  auto m = map_of(int(a.map_fd));
  if (!m) return m.status();
  maps::Map& map = **m;
  if (!fd_can_read(int(a.map_fd))) return no_read();
  if ((a.flags & BPF_F_LOCK) && map.spin_lock_off() < 0)
    return Status(EINVAL, "BPF_F_LOCK needs a struct bpf_spin_lock in the map value");
  std::vector<uint8_t> value(map.value_copy_size());
  if (map.type() == BPF_MAP_TYPE_BLOOM_FILTER) {
    // The value is the input: is it (maybe) in the filter?
    if (a.key) return Status(EINVAL, "bloom filter lookups take no key");
    if (Status st = copy_from_user(value.data(), a.value, value.size()); !st)
      return Status(EFAULT, "value: " + st.message());
    Status st = map.lookup(nullptr, value.data(), a.flags);
    if (!st) return st;
    return 0L;
  }
  std::vector<uint8_t> key;
  if (Status st = key_in(map, a.key, key); !st) return st;
  Status st = map.lookup(key.data(), value.data(), a.flags);
  if (!st) return st;
  if (Status o = out(a.value, value.data(), value.size()); !o) return o;
  return 0L;
}

CmdResult map_update_elem(Call& c) {
  const union bpf_attr& a = c.attr.a;
  auto m = map_of(int(a.map_fd));
  if (!m) return m.status();
  maps::Map& map = **m;
  if (!can_write(int(a.map_fd), map)) return no_write(map);
  if ((a.flags & BPF_F_LOCK) && map.spin_lock_off() < 0)
    return Status(EINVAL, "BPF_F_LOCK needs a struct bpf_spin_lock in the map value");
  std::vector<uint8_t> key;
  if (Status st = key_in(map, a.key, key); !st) return st;
  std::vector<uint8_t> value(map.value_copy_size());
  if (!value.empty()) {
    if (Status st = copy_from_user(value.data(), a.value, value.size()); !st)
      return Status(EFAULT, "value: " + st.message());
  }
  Status st = map.update(key.data(), value.data(), a.flags);
  if (!st) return st;
  return 0L;
}

CmdResult map_delete_elem(Call& c) {
  const union bpf_attr& a = c.attr.a;
  auto m = map_of(int(a.map_fd));
  if (!m) return m.status();
  maps::Map& map = **m;
  if (!can_write(int(a.map_fd), map)) return no_write(map);
  std::vector<uint8_t> key;
  if (Status st = key_in(map, a.key, key); !st) return st;
  Status st = map.delete_elem(key.data());
  if (!st) return st;
  return 0L;
}

CmdResult map_get_next_key(Call& c) {
  const union bpf_attr& a = c.attr.a;
  auto m = map_of(int(a.map_fd));
  if (!m) return m.status();
  maps::Map& map = **m;
  if (!fd_can_read(int(a.map_fd))) return no_read();
  std::vector<uint8_t> key(map.key_size()), next(map.key_size());
  if (a.key && map.key_size()) {
    if (Status st = copy_from_user(key.data(), a.key, map.key_size()); !st)
      return Status(EFAULT, "key: " + st.message());
  }
  Status st = map.get_next_key(a.key ? key.data() : nullptr, next.data());
  if (!st) return st;
  if (Status o = out(a.next_key, next.data(), next.size()); !o) return o;
  return 0L;
}

CmdResult map_lookup_and_delete_elem(Call& c) {
  const union bpf_attr& a = c.attr.a;
  if (a.flags & ~uint64_t(BPF_F_LOCK))
    return Status(EINVAL, "lookup_and_delete flags may only be BPF_F_LOCK");
  auto m = map_of(int(a.map_fd));
  if (!m) return m.status();
  maps::Map& map = **m;
  if (!fd_can_read(int(a.map_fd)) || !can_write(int(a.map_fd), map))
    return Status(EPERM, "lookup_and_delete needs a read-write map fd");
  std::vector<uint8_t> key;
  if (Status st = key_in(map, a.key, key); !st) return st;
  std::vector<uint8_t> value(map.value_copy_size());
  Status st = map.lookup_and_delete(key.data(), value.data(), a.flags);
  if (!st) return st;
  if (Status o = out(a.value, value.data(), value.size()); !o) return o;
  return 0L;
}

CmdResult map_freeze(Call& c) {
  const union bpf_attr& a = c.attr.a;
  auto m = map_of(int(a.map_fd));
  if (!m) return m.status();
  maps::Map& map = **m;
  if (map.spin_lock_off() >= 0 || map.type() == BPF_MAP_TYPE_STRUCT_OPS)
    return Status(maps::kENOTSUPP, "maps with special fields (bpf_spin_lock) cannot be frozen");
  if (!can_write(int(a.map_fd), map)) return no_write(map);
  Status st = map.freeze();
  if (!st) return st;
  return 0L;
}

}  // namespace bpfbox::sys
