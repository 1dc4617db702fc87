// The helpers that call back into the program (kernel/bpf/bpf_iter.c): bpf_loop and
// bpf_for_each_map_elem, through RunContext::call_function, which both engines provide while a run
// is active. The verifier explores each callback as a static subprogram with the kernel's frame
// (bpf_loop: cb(u64 index, void *ctx); for_each: cb(map, key, value, ctx)), returning 0 or 1.
#include <cerrno>
#include <cstring>

#include "bpfbox/maps.hpp"
#include "helpers/protos.hpp"

namespace bpfbox::helpers {
namespace {

constexpr uint64_t kMaxLoops = uint64_t(1) << 23;  // BPF_MAX_LOOPS
constexpr uint32_t kMaxKeySize = 512;              // larger than any key a program can pass

uint64_t ret(long v) {
  return static_cast<uint64_t>(v);
}

// bpf_loop(nr_loops, callback_fn, callback_ctx, flags): stops early when the callback returns
// non-zero; returns the number of calls made.
uint64_t loop(uint64_t nr, uint64_t fn, uint64_t ctx, uint64_t flags, uint64_t,
              vm::RunContext* rc) {
  if (flags) return ret(-EINVAL);
  const uint32_t nr_loops = static_cast<uint32_t>(nr);
  if (nr_loops > kMaxLoops) return ret(-E2BIG);
  if (!rc->call_function) return ret(-EOPNOTSUPP);
  uint64_t i = 0;
  for (; i < nr_loops; ++i) {
    const uint64_t r = rc->call_function(rc, fn, i, ctx, 0, 0, 0);
    if (rc->fault.kind != vm::FaultKind::None) return 0;
    if (r) return i + 1;
  }
  return i;
}

// Calls fn(map, key, value, ctx) with key and value readable (the value writable unless the map
// is read-only for programs) in checked runs; true when the walk stops.
bool visit(vm::RunContext* rc, maps::Map* map, uint64_t fn, const void* key, void* value,
           uint64_t ctx, uint64_t* stop_ret) {
  const uint32_t saved = rc->n_regions;
  if (rc->checked) {
    rc->add_region(key, map->key_size(), vm::kRead, "for_each key");
    rc->add_region(value, map->value_size(), map->prog_may_write() ? vm::kReadWrite : vm::kRead,
                   "for_each value");
  }
  const uint64_t r =
      rc->call_function(rc, fn, reinterpret_cast<uint64_t>(map), reinterpret_cast<uint64_t>(key),
                        reinterpret_cast<uint64_t>(value), ctx, 0);
  rc->n_regions = saved;
  *stop_ret = r;
  return r != 0 || rc->fault.kind != vm::FaultKind::None;
}

// bpf_for_each_map_elem(map, callback_fn, callback_ctx, flags): every element of an array (by
// index) or hash map (in get_next_key order) on this run's CPU until the callback returns 1;
// returns the number of elements visited.
uint64_t for_each_map_elem(uint64_t m, uint64_t fn, uint64_t ctx, uint64_t flags, uint64_t,
                           vm::RunContext* rc) {
  if (flags) return ret(-EINVAL);
  if (!rc->call_function) return ret(-EOPNOTSUPP);
  auto* map = reinterpret_cast<maps::Map*>(m);
  uint64_t visited = 0, r = 0;
  switch (map->type()) {
    case BPF_MAP_TYPE_ARRAY:
    case BPF_MAP_TYPE_PERCPU_ARRAY:
      for (uint32_t i = 0; i < map->max_entries(); ++i) {
        void* value = map->prog_lookup(&i, rc->cpu);
        if (!value) continue;
        ++visited;
        if (visit(rc, map, fn, &i, value, ctx, &r)) break;
      }
      break;
    default: {
      if (map->key_size() > kMaxKeySize) return ret(-EINVAL);
      // The next key is taken before the callback runs: a callback deleting the element it
      // visits (the usual garbage collection) would otherwise send get_next_key back to the
      // first key, and the walk would visit elements again (the kernel walks its buckets once).
      alignas(8) uint8_t key[kMaxKeySize], next[kMaxKeySize];
      bool more = map->get_next_key(nullptr, next).is_ok();
      while (more) {
        std::memcpy(key, next, map->key_size());
        more = map->get_next_key(key, next).is_ok();
        void* value = map->prog_lookup(key, rc->cpu);
        if (!value) continue;  // deleted meanwhile
        ++visited;
        if (visit(rc, map, fn, key, value, ctx, &r)) break;
      }
      break;
    }
  }
  if (rc->fault.kind != vm::FaultKind::None) return 0;
  return visited;
}

}  // namespace

const HelperProto kLoopProto{
    .func_id = BPF_FUNC_loop,
    .name = "bpf_loop",
    .fn = loop,
    .ret_type = RET_INTEGER,
    .arg_type = {ARG_ANYTHING, ARG_PTR_TO_FUNC, ARG_PTR_TO_STACK_OR_NULL, ARG_ANYTHING}};
const HelperProto kForEachMapElemProto{
    .func_id = BPF_FUNC_for_each_map_elem,
    .name = "bpf_for_each_map_elem",
    .fn = for_each_map_elem,
    .ret_type = RET_INTEGER,
    .arg_type = {ARG_CONST_MAP_PTR, ARG_PTR_TO_FUNC, ARG_PTR_TO_STACK_OR_NULL, ARG_ANYTHING}};

}  // namespace bpfbox::helpers
