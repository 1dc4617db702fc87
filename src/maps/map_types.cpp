// The ops table indexed by BPF_MAP_TYPE_*, and the types bpfbox refuses.
#include <array>
#include <string>
#include <utility>

#include "maps/map_ops.hpp"

namespace bpfbox::maps {

namespace {

// Types that hold kernel objects (sockets, cgroups, devices' queues, kernel structs).
struct Refusal {
  uint32_t type;
  const char* name;
  const char* why;
};
constexpr Refusal kRefusals[] = {
    {BPF_MAP_TYPE_STACK_TRACE, "BPF_MAP_TYPE_STACK_TRACE",
     "it stores kernel and user stack traces, which a user-space run does not have"},
    {BPF_MAP_TYPE_CGROUP_ARRAY, "BPF_MAP_TYPE_CGROUP_ARRAY", "it holds cgroup references"},
    {BPF_MAP_TYPE_SOCKMAP, "BPF_MAP_TYPE_SOCKMAP", "it holds kernel sockets"},
    {BPF_MAP_TYPE_CPUMAP, "BPF_MAP_TYPE_CPUMAP", "it redirects XDP frames to kernel CPU threads"},
    {BPF_MAP_TYPE_XSKMAP, "BPF_MAP_TYPE_XSKMAP", "it holds AF_XDP sockets"},
    {BPF_MAP_TYPE_SOCKHASH, "BPF_MAP_TYPE_SOCKHASH", "it holds kernel sockets"},
    {BPF_MAP_TYPE_CGROUP_STORAGE, "BPF_MAP_TYPE_CGROUP_STORAGE",
     "its storage is attached to cgroups"},
    {BPF_MAP_TYPE_REUSEPORT_SOCKARRAY, "BPF_MAP_TYPE_REUSEPORT_SOCKARRAY",
     "it holds SO_REUSEPORT sockets"},
    {BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE, "BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE",
     "its storage is attached to cgroups"},
    {BPF_MAP_TYPE_SK_STORAGE, "BPF_MAP_TYPE_SK_STORAGE", "its storage is attached to sockets"},
    {BPF_MAP_TYPE_STRUCT_OPS, "BPF_MAP_TYPE_STRUCT_OPS",
     "it implements kernel structures of function pointers"},
    {BPF_MAP_TYPE_INODE_STORAGE, "BPF_MAP_TYPE_INODE_STORAGE", "its storage is attached to inodes"},
    {BPF_MAP_TYPE_TASK_STORAGE, "BPF_MAP_TYPE_TASK_STORAGE", "its storage is attached to tasks"},
    {BPF_MAP_TYPE_USER_RINGBUF, "BPF_MAP_TYPE_USER_RINGBUF",
     "it feeds kernel-side callbacks (bpf_user_ringbuf_drain)"},
    {32, "BPF_MAP_TYPE_CGRP_STORAGE", "its storage is attached to cgroups"},
    {33, "BPF_MAP_TYPE_ARENA", "it shares pages between the kernel and user space"},
};

constexpr uint32_t kMaxMapType = 34;  // __MAX_BPF_MAP_TYPE as of Linux 6.9

template <size_t I>
Status refuse(const MapAttr&) {
  return Status(
      EINVAL, std::string(kRefusals[I].name) + " is not supported by bpfbox: " + kRefusals[I].why);
}

template <size_t... I>
constexpr auto refused_ops(std::index_sequence<I...>) {
  return std::array<MapOps, sizeof...(I)>{
      MapOps{.name = kRefusals[I].name, .alloc_check = refuse<I>}...};
}
const auto kRefusedOps = refused_ops(std::make_index_sequence<std::size(kRefusals)>());

struct Table {
  const MapOps* ops[kMaxMapType] = {};
  Table() {
    for (size_t i = 0; i < std::size(kRefusals); ++i) ops[kRefusals[i].type] = &kRefusedOps[i];
    ops[BPF_MAP_TYPE_ARRAY] = &kArrayOps;
    ops[BPF_MAP_TYPE_PERCPU_ARRAY] = &kPercpuArrayOps;
    ops[BPF_MAP_TYPE_HASH] = &kHashOps;
    ops[BPF_MAP_TYPE_PERCPU_HASH] = &kPercpuHashOps;
    ops[BPF_MAP_TYPE_LRU_HASH] = &kLruHashOps;
    ops[BPF_MAP_TYPE_LRU_PERCPU_HASH] = &kLruPercpuHashOps;
    ops[BPF_MAP_TYPE_RINGBUF] = &kRingbufOps;
    ops[BPF_MAP_TYPE_DEVMAP] = &kDevmapOps;
    ops[BPF_MAP_TYPE_DEVMAP_HASH] = &kDevmapHashOps;
    ops[BPF_MAP_TYPE_LPM_TRIE] = &kLpmTrieOps;
    ops[BPF_MAP_TYPE_QUEUE] = &kQueueOps;
    ops[BPF_MAP_TYPE_STACK] = &kStackOps;
    ops[BPF_MAP_TYPE_BLOOM_FILTER] = &kBloomFilterOps;
    ops[BPF_MAP_TYPE_PROG_ARRAY] = &kProgArrayOps;
    ops[BPF_MAP_TYPE_PERF_EVENT_ARRAY] = &kPerfEventArrayOps;
    ops[BPF_MAP_TYPE_ARRAY_OF_MAPS] = &kArrayOfMapsOps;
    ops[BPF_MAP_TYPE_HASH_OF_MAPS] = &kHashOfMapsOps;
  }
};

}  // namespace

const MapOps* map_ops_for(uint32_t map_type) {
  static const Table table;
  return map_type < kMaxMapType ? table.ops[map_type] : nullptr;
}

}  // namespace bpfbox::maps
