#include "sys/map_btf.hpp"

#include <bpf/btf.h>
#include <fcntl.h>
#include <linux/btf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "sys/btf.hpp"
#include "sys/runtime.hpp"

namespace bpfbox::sys {

namespace {

std::string record_path(uint32_t map_id) {
  const std::string ids = runtime_path("ids");
  if (ids.empty()) return {};
  return ids + "/map-btf/" + std::to_string(map_id);
}

// btf_type_id_size(): the type with modifiers and typedefs resolved, and its size.
const btf_type* sized_type(const Btf& btf, uint32_t id, uint32_t* size) {
  const btf_type* t = btf__type_by_id(btf.parsed, id);
  if (!t) return nullptr;
  const long long sz = btf__resolve_size(btf.parsed, id);
  if (sz < 0) return nullptr;
  *size = uint32_t(sz);
  const int rid = btf__resolve_type(btf.parsed, id);
  return rid < 0 ? nullptr : btf__type_by_id(btf.parsed, uint32_t(rid));
}

}  // namespace

Status map_check_btf(const Btf& btf, const union bpf_attr& a, int32_t* spin_lock_off) {
  const btf_type* key_type = nullptr;
  uint32_t size = 0;
  if (a.btf_key_type_id) {
    key_type = sized_type(btf, a.btf_key_type_id, &size);
    if (!key_type || size != a.key_size)
      return Status(EINVAL, "the BTF key type does not exist or its size is not key_size");
  } else if (a.map_type != BPF_MAP_TYPE_ARRAY && a.map_type != BPF_MAP_TYPE_PERCPU_ARRAY &&
             a.map_type != BPF_MAP_TYPE_BLOOM_FILTER) {
    // Only maps with their own map_check_btf may leave the key without a type.
    return Status(EINVAL, "this map type needs btf_key_type_id with btf_value_type_id");
  }
  const btf_type* value_type = sized_type(btf, a.btf_value_type_id, &size);
  if (!value_type || size != a.value_size)
    return Status(EINVAL, "the BTF value type does not exist or its size is not value_size");
  if (a.map_type == BPF_MAP_TYPE_ARRAY || a.map_type == BPF_MAP_TYPE_PERCPU_ARRAY) {
    // array_map_check_btf: keyless only for a one-entry global data section; else a u32 key.
    if (!key_type) {
      if (a.map_type != BPF_MAP_TYPE_ARRAY || a.max_entries != 1 ||
          btf_kind(value_type) != BTF_KIND_DATASEC)
        return Status(EINVAL, "a keyless BTF array must be a one-entry data section");
    } else if (btf_kind(key_type) != BTF_KIND_INT || btf_int_bits(key_type) != 32 ||
               btf_int_offset(key_type)) {
      return Status(EINVAL, "an array's BTF key must be a 32-bit integer");
    }
  }
  auto off = btf_spin_lock_off(btf, a.btf_value_type_id, &size);
  if (!off) return off.status();
  *spin_lock_off = *off;
  return Status::ok();
}

void save_map_btf(uint32_t map_id, const MapBtf& b) {
  const std::string path = record_path(map_id);
  if (path.empty()) return;
  if (!b.btf_id && !b.key_type_id && !b.value_type_id) {
    unlink(path.c_str());
    return;
  }
  mkdir((runtime_path("ids") + "/map-btf").c_str(), 0700);
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return;
  const uint32_t rec[3] = {b.btf_id, b.key_type_id, b.value_type_id};
  if (write(fd, rec, sizeof rec) != ssize_t(sizeof rec)) unlink(path.c_str());
  close(fd);
}

MapBtf load_map_btf(uint32_t map_id) {
  MapBtf b;
  const std::string path = record_path(map_id);
  if (path.empty()) return b;
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return b;
  uint32_t rec[3] = {};
  if (read(fd, rec, sizeof rec) == ssize_t(sizeof rec)) {
    b.btf_id = rec[0];
    b.key_type_id = rec[1];
    b.value_type_id = rec[2];
  }
  close(fd);
  return b;
}

}  // namespace bpfbox::sys
