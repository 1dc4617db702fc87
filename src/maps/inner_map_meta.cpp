#include "maps/inner_map_meta.hpp"

#include <string>

namespace bpfbox::maps {

namespace {

constexpr uint32_t kFdPermissions = BPF_F_RDONLY | BPF_F_WRONLY;

bool is_map_in_map(uint32_t type) {
  return type == BPF_MAP_TYPE_ARRAY_OF_MAPS || type == BPF_MAP_TYPE_HASH_OF_MAPS;
}

}  // namespace

Status resolve_inner_map_meta(MapAttr& attr) {
  if (!attr.objects)
    return Status(EBADF,
                  "inner_map_fd cannot be resolved: the map was created without an "
                  "object table");
  auto ref = attr.objects->ref_map_fd(static_cast<int>(attr.inner_map_fd));
  if (!ref) return ref.status();
  const Map& inner = *ref->map;
  Status st;
  if (is_map_in_map(inner.type())) {
    st = Status(EINVAL, "inner_map_fd names a map-in-map: only one level of nesting is allowed");
  } else if (inner.type() == BPF_MAP_TYPE_PROG_ARRAY) {
    st = Status(kENOTSUPP, "BPF_MAP_TYPE_PROG_ARRAY cannot be an inner map");
  } else {
    attr.inner = InnerMapMeta{inner.type(),        inner.key_size(),
                              inner.value_size(),  inner.map_flags() & ~kFdPermissions,
                              inner.max_entries(), uint32_t(inner.spin_lock_off() + 1)};
  }
  attr.objects->unref(*ref);
  return st;
}

Status check_inner_map(const InnerMapMeta& meta, const Map& inner) {
  // array_map_meta_equal is BPF_MAP_TYPE_ARRAY's alone (checked against the kernel).
  bool array = meta.map_type == BPF_MAP_TYPE_ARRAY;
  if (inner.type() != meta.map_type || inner.key_size() != meta.key_size ||
      inner.value_size() != meta.value_size ||
      (inner.map_flags() & ~kFdPermissions) != meta.map_flags ||
      inner.spin_lock_off() != meta.spin_lock_off())
    return Status(EINVAL,
                  "inner map does not match the template (map type, key_size, value_size, "
                  "map_flags and the bpf_spin_lock's offset must be equal)");
  if (array && !(meta.map_flags & BPF_F_INNER_MAP) && inner.max_entries() != meta.max_entries)
    return Status(EINVAL,
                  "inner array's max_entries differs from the template's (the template "
                  "lacks BPF_F_INNER_MAP)");
  return Status::ok();
}

Result<ObjectRef> ref_inner_map(ObjectTable* objects, const InnerMapMeta& meta, int fd) {
  if (!objects) return Status(EBADF, "map fds cannot be resolved without an object table");
  auto ref = objects->ref_map_fd(fd);
  if (!ref) return ref.status();
  if (Status st = check_inner_map(meta, *ref->map); !st) {
    objects->unref(*ref);
    return st;
  }
  return ref;
}

}  // namespace bpfbox::maps
