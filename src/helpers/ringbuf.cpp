// bpf_ringbuf_{output,reserve,submit,discard,query}: the program side of BPF_MAP_TYPE_RINGBUF
// (maps::ringbuf). A reservation is a reference the verifier tracks: submit and discard release
// it (OBJ_RELEASE), so every path of an accepted program gives each reservation back.
#include "bpfbox/maps.hpp"
#include "helpers/protos.hpp"

namespace bpfbox::helpers {
namespace {

maps::Map* map_of(uint64_t r) {
  return reinterpret_cast<maps::Map*>(r);
}

uint64_t ringbuf_output(uint64_t m, uint64_t data, uint64_t size, uint64_t flags, uint64_t,
                        vm::RunContext*) {
  return static_cast<uint64_t>(
      maps::ringbuf::output(map_of(m), reinterpret_cast<const void*>(data), size, flags));
}

uint64_t ringbuf_reserve(uint64_t m, uint64_t size, uint64_t flags, uint64_t, uint64_t,
                         vm::RunContext*) {
  return reinterpret_cast<uint64_t>(maps::ringbuf::reserve(map_of(m), size, flags));
}

uint64_t ringbuf_submit(uint64_t sample, uint64_t flags, uint64_t, uint64_t, uint64_t,
                        vm::RunContext*) {
  maps::ringbuf::submit(reinterpret_cast<void*>(sample), flags);
  return 0;
}

uint64_t ringbuf_discard(uint64_t sample, uint64_t flags, uint64_t, uint64_t, uint64_t,
                         vm::RunContext*) {
  maps::ringbuf::discard(reinterpret_cast<void*>(sample), flags);
  return 0;
}

uint64_t ringbuf_query(uint64_t m, uint64_t flags, uint64_t, uint64_t, uint64_t, vm::RunContext*) {
  return maps::ringbuf::query(map_of(m), flags);
}

constexpr uint64_t kRingbuf = map_type_bit(BPF_MAP_TYPE_RINGBUF);

}  // namespace

// kernel/bpf/ringbuf.c's prototypes.
const HelperProto kRingbufOutputProto{
    .func_id = BPF_FUNC_ringbuf_output,
    .name = "bpf_ringbuf_output",
    .fn = ringbuf_output,
    .ret_type = RET_INTEGER,
    .arg_type = {ARG_CONST_MAP_PTR, uint32_t(ARG_PTR_TO_MEM) | MEM_RDONLY, ARG_CONST_SIZE_OR_ZERO,
                 ARG_ANYTHING},
    .map_types = kRingbuf};
const HelperProto kRingbufReserveProto{
    .func_id = BPF_FUNC_ringbuf_reserve,
    .name = "bpf_ringbuf_reserve",
    .fn = ringbuf_reserve,
    .ret_type = RET_PTR_TO_RINGBUF_MEM_OR_NULL,
    .arg_type = {ARG_CONST_MAP_PTR, ARG_CONST_ALLOC_SIZE_OR_ZERO, ARG_ANYTHING},
    .map_types = kRingbuf};
const HelperProto kRingbufSubmitProto{
    .func_id = BPF_FUNC_ringbuf_submit,
    .name = "bpf_ringbuf_submit",
    .fn = ringbuf_submit,
    .ret_type = RET_VOID,
    .arg_type = {uint32_t(ARG_PTR_TO_RINGBUF_MEM) | OBJ_RELEASE, ARG_ANYTHING}};
const HelperProto kRingbufDiscardProto{
    .func_id = BPF_FUNC_ringbuf_discard,
    .name = "bpf_ringbuf_discard",
    .fn = ringbuf_discard,
    .ret_type = RET_VOID,
    .arg_type = {uint32_t(ARG_PTR_TO_RINGBUF_MEM) | OBJ_RELEASE, ARG_ANYTHING}};
const HelperProto kRingbufQueryProto{.func_id = BPF_FUNC_ringbuf_query,
                                     .name = "bpf_ringbuf_query",
                                     .fn = ringbuf_query,
                                     .ret_type = RET_INTEGER,
                                     .arg_type = {ARG_CONST_MAP_PTR, ARG_ANYTHING},
                                     .map_types = kRingbuf};

}  // namespace bpfbox::helpers
