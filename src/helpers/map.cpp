// bpf_map_{lookup,update,delete,push,pop,peek}_elem and bpf_map_lookup_percpu_elem: r1 is the
// maps::Map the verifier resolved from the program's lddw, and each call goes straight to the
// map family's program-side function with the run's CPU slot (RunContext::cpu), as the kernel's
// helpers call map->ops->map_*_elem on the current CPU.
#include <cerrno>

#include "bpfbox/maps.hpp"
#include "helpers/protos.hpp"

namespace bpfbox::helpers {
namespace {

maps::Map* map_of(uint64_t r) {
  return reinterpret_cast<maps::Map*>(r);
}
void* ptr(uint64_t r) {
  return reinterpret_cast<void*>(r);
}
uint64_t ret(long v) {
  return static_cast<uint64_t>(v);
}

uint64_t map_lookup_elem(uint64_t m, uint64_t key, uint64_t, uint64_t, uint64_t,
                         vm::RunContext* rc) {
  maps::Map* map = map_of(m);
  return reinterpret_cast<uint64_t>(map->prog().lookup(map, ptr(key), rc->cpu));
}

uint64_t map_update_elem(uint64_t m, uint64_t key, uint64_t value, uint64_t flags, uint64_t,
                         vm::RunContext* rc) {
  maps::Map* map = map_of(m);
  if (!map->prog().update) return ret(-maps::kENOTSUPP);
  return ret(map->prog().update(map, ptr(key), ptr(value), flags, rc->cpu));
}

uint64_t map_delete_elem(uint64_t m, uint64_t key, uint64_t, uint64_t, uint64_t,
                         vm::RunContext* rc) {
  maps::Map* map = map_of(m);
  if (!map->prog().delete_elem) return ret(-maps::kENOTSUPP);
  return ret(map->prog().delete_elem(map, ptr(key), rc->cpu));
}

uint64_t map_push_elem(uint64_t m, uint64_t value, uint64_t flags, uint64_t, uint64_t,
                       vm::RunContext* rc) {
  maps::Map* map = map_of(m);
  if (!map->prog().push) return ret(-maps::kENOTSUPP);
  return ret(map->prog().push(map, ptr(value), flags, rc->cpu));
}

uint64_t map_pop_elem(uint64_t m, uint64_t value, uint64_t, uint64_t, uint64_t,
                      vm::RunContext* rc) {
  maps::Map* map = map_of(m);
  if (!map->prog().pop) return ret(-maps::kENOTSUPP);
  return ret(map->prog().pop(map, ptr(value), rc->cpu));
}

uint64_t map_peek_elem(uint64_t m, uint64_t value, uint64_t, uint64_t, uint64_t,
                       vm::RunContext* rc) {
  maps::Map* map = map_of(m);
  if (!map->prog().peek) return ret(-maps::kENOTSUPP);
  return ret(map->prog().peek(map, ptr(value), rc->cpu));
}

// Another CPU's value of a per-CPU map: NULL for a CPU that does not exist, as the kernel's
// (cpu >= nr_cpu_ids). Only per-CPU maps get here (the verifier checks the map type).
uint64_t map_lookup_percpu_elem(uint64_t m, uint64_t key, uint64_t cpu, uint64_t, uint64_t,
                                vm::RunContext*) {
  maps::Map* map = map_of(m);
  if (cpu >= map->nr_cpus()) return 0;
  return reinterpret_cast<uint64_t>(map->prog().lookup(map, ptr(key), static_cast<uint32_t>(cpu)));
}

}  // namespace

// kernel/bpf/helpers.c: the map helpers take packet pointers as keys and values (pkt_access).
const HelperProto kMapLookupElemProto{.func_id = BPF_FUNC_map_lookup_elem,
                                      .name = "bpf_map_lookup_elem",
                                      .fn = map_lookup_elem,
                                      .pkt_access = true,
                                      .ret_type = RET_PTR_TO_MAP_VALUE_OR_NULL,
                                      .arg_type = {ARG_CONST_MAP_PTR, ARG_PTR_TO_MAP_KEY}};
const HelperProto kMapUpdateElemProto{
    .func_id = BPF_FUNC_map_update_elem,
    .name = "bpf_map_update_elem",
    .fn = map_update_elem,
    .pkt_access = true,
    .ret_type = RET_INTEGER,
    .arg_type = {ARG_CONST_MAP_PTR, ARG_PTR_TO_MAP_KEY, ARG_PTR_TO_MAP_VALUE, ARG_ANYTHING}};
const HelperProto kMapDeleteElemProto{.func_id = BPF_FUNC_map_delete_elem,
                                      .name = "bpf_map_delete_elem",
                                      .fn = map_delete_elem,
                                      .pkt_access = true,
                                      .ret_type = RET_INTEGER,
                                      .arg_type = {ARG_CONST_MAP_PTR, ARG_PTR_TO_MAP_KEY}};
const HelperProto kMapPushElemProto{
    .func_id = BPF_FUNC_map_push_elem,
    .name = "bpf_map_push_elem",
    .fn = map_push_elem,
    .pkt_access = true,
    .ret_type = RET_INTEGER,
    .arg_type = {ARG_CONST_MAP_PTR, ARG_PTR_TO_MAP_VALUE, ARG_ANYTHING},
    .map_types = map_type_bit(BPF_MAP_TYPE_QUEUE) | map_type_bit(BPF_MAP_TYPE_STACK) |
                 map_type_bit(BPF_MAP_TYPE_BLOOM_FILTER)};
const HelperProto kMapPopElemProto{
    .func_id = BPF_FUNC_map_pop_elem,
    .name = "bpf_map_pop_elem",
    .fn = map_pop_elem,
    .ret_type = RET_INTEGER,
    .arg_type = {ARG_CONST_MAP_PTR, uint32_t(ARG_PTR_TO_MAP_VALUE) | MEM_UNINIT | MEM_WRITE},
    .map_types = map_type_bit(BPF_MAP_TYPE_QUEUE) | map_type_bit(BPF_MAP_TYPE_STACK)};
const HelperProto kMapPeekElemProto{
    .func_id = BPF_FUNC_map_peek_elem,
    .name = "bpf_map_peek_elem",
    .fn = map_peek_elem,
    .ret_type = RET_INTEGER,
    .arg_type = {ARG_CONST_MAP_PTR, uint32_t(ARG_PTR_TO_MAP_VALUE) | MEM_UNINIT | MEM_WRITE},
    .map_types = map_type_bit(BPF_MAP_TYPE_QUEUE) | map_type_bit(BPF_MAP_TYPE_STACK) |
                 map_type_bit(BPF_MAP_TYPE_BLOOM_FILTER)};
const HelperProto kMapLookupPercpuElemProto{
    .func_id = BPF_FUNC_map_lookup_percpu_elem,
    .name = "bpf_map_lookup_percpu_elem",
    .fn = map_lookup_percpu_elem,
    .pkt_access = true,
    .ret_type = RET_PTR_TO_MAP_VALUE_OR_NULL,
    .arg_type = {ARG_CONST_MAP_PTR, ARG_PTR_TO_MAP_KEY, ARG_ANYTHING},
    .map_types = map_type_bit(BPF_MAP_TYPE_PERCPU_HASH) | map_type_bit(BPF_MAP_TYPE_PERCPU_ARRAY) |
                 map_type_bit(BPF_MAP_TYPE_LRU_PERCPU_HASH)};

}  // namespace bpfbox::helpers
