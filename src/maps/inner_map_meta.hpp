// Map-in-map templates (the kernel's map_in_map.c): what inner_map_fd fixes at creation, and the
// check every inner map stored later must pass.
#pragma once

#include "maps/map_ops.hpp"

namespace bpfbox::maps {

// bpf_map_meta_alloc: attr.inner from the map behind attr.inner_map_fd. EBADF without an object
// table or for a closed fd; EINVAL for a map-in-map template (one level only); ENOTSUPP for
// PROG_ARRAY, whose owner type is bound at run time.
Status resolve_inner_map_meta(MapAttr& attr);

// bpf_map_fd_get_ptr's check (map_meta_equal): type, key_size, value_size and map_flags equal;
// BPF_MAP_TYPE_ARRAY also max_entries unless the template has BPF_F_INNER_MAP.
Status check_inner_map(const InnerMapMeta& meta, const Map& inner);

// The map behind fd, checked against meta, with a reference held (released on failure).
Result<ObjectRef> ref_inner_map(ObjectTable* objects, const InnerMapMeta& meta, int fd);

}  // namespace bpfbox::maps
