// The writable mappings of maps this process made through the shim, given back when they are
// unmapped: the kernel counts a map's VM_WRITE mappings (map->writecnt: freeze is EBUSY while one
// exists) and drops the count when the mapping goes; bpfbox's count is the arena's
// (Map::acquire_writable_mapping), which bpfbox_map_mmap takes, and the shim gives back at munmap.
// A mapping also holds its map, as the kernel's vma holds a reference.
#pragma once

#include <cstddef>
#include <memory>

#include "bpfbox/maps.hpp"

namespace bpfbox::shim {

void note_writable_mapping(void* addr, size_t len, std::shared_ptr<maps::Map> map);

// [addr, addr + len) is unmapped (munmap, or a MAP_FIXED mapping over it): each noted mapping
// inside it gives its count back. One cut at its start or end leaves the rest noted; a hole in
// its middle keeps it counted until the rest goes too (the kernel's split vmas each count).
void forget_mappings(void* addr, size_t len);

}  // namespace bpfbox::shim
