// A map's BTF (MAP_CREATE's btf_fd, btf_key_type_id, btf_value_type_id): checked as the kernel's
// map_check_btf, held by the map as the kernel's map->btf, and reported by bpf_map_info. The ids
// are also kept in the runtime dir (ids/map-btf/<map id>), so a process that adopted the map
// reports them too.
#pragma once

#include <cstdint>
#include <memory>

#include <linux/bpf.h>

#include "bpfbox/status.hpp"

namespace bpfbox::sys {

struct Btf;

struct MapBtf {
  uint32_t btf_id = 0;
  uint32_t key_type_id = 0;
  uint32_t value_type_id = 0;
  std::shared_ptr<Btf> btf;  // held while the map lives in this process
};

// map_check_btf(): the key and value types exist and have the map's sizes (EINVAL), the keyless
// and integer-key rules of arrays; *spin_lock_off is the value's struct bpf_spin_lock offset or -1.
Status map_check_btf(const Btf& btf, const union bpf_attr& a, int32_t* spin_lock_off);

// Records a new map's BTF ids under its id (or removes a stale record when it has none).
void save_map_btf(uint32_t map_id, const MapBtf& b);
// The BTF ids recorded for a map id (zeros when none).
MapBtf load_map_btf(uint32_t map_id);

}  // namespace bpfbox::sys
