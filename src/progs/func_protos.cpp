#include "progs/func_protos.hpp"

#include "helpers/protos.hpp"

namespace bpfbox::progs {

using namespace helpers;

const HelperProto* base_func_proto(uint32_t func_id, const ProgLoadContext& ctx) {
  // Every program, privileged or not.
  switch (func_id) {
    case BPF_FUNC_map_lookup_elem:
      return &kMapLookupElemProto;
    case BPF_FUNC_map_update_elem:
      return &kMapUpdateElemProto;
    case BPF_FUNC_map_delete_elem:
      return &kMapDeleteElemProto;
    case BPF_FUNC_map_push_elem:
      return &kMapPushElemProto;
    case BPF_FUNC_map_pop_elem:
      return &kMapPopElemProto;
    case BPF_FUNC_map_peek_elem:
      return &kMapPeekElemProto;
    case BPF_FUNC_map_lookup_percpu_elem:
      return &kMapLookupPercpuElemProto;
    case BPF_FUNC_get_prandom_u32:
      return &kGetPrandomU32Proto;
    case BPF_FUNC_get_smp_processor_id:
      return &kGetSmpProcessorIdProto;
    case BPF_FUNC_get_numa_node_id:
      return &kGetNumaNodeIdProto;
    case BPF_FUNC_tail_call:
      return &kTailCallProto;
    case BPF_FUNC_ktime_get_ns:
      return &kKtimeGetNsProto;
    case BPF_FUNC_ktime_get_boot_ns:
      return &kKtimeGetBootNsProto;
    case BPF_FUNC_ringbuf_output:
      return &kRingbufOutputProto;
    case BPF_FUNC_ringbuf_reserve:
      return &kRingbufReserveProto;
    case BPF_FUNC_ringbuf_submit:
      return &kRingbufSubmitProto;
    case BPF_FUNC_ringbuf_discard:
      return &kRingbufDiscardProto;
    case BPF_FUNC_ringbuf_query:
      return &kRingbufQueryProto;
    default:
      break;
  }
  // bpf_capable(): spin locks, callbacks (timers, dynptrs, kptrs: not implemented), then
  // perfmon_capable(): the helpers that can read or print kernel memory.
  if (!ctx.privileged) return nullptr;
  switch (func_id) {
    case BPF_FUNC_spin_lock:
      return &kSpinLockProto;
    case BPF_FUNC_spin_unlock:
      return &kSpinUnlockProto;
    case BPF_FUNC_for_each_map_elem:
      return &kForEachMapElemProto;
    case BPF_FUNC_loop:
      return &kLoopProto;
    case BPF_FUNC_trace_printk:
      return &kTracePrintkProto;
    default:
      return nullptr;
  }
}

const HelperProto* sk_base_func_proto(uint32_t func_id, const ProgLoadContext& ctx) {
  switch (func_id) {
    case BPF_FUNC_ktime_get_coarse_ns:
      return &kKtimeGetCoarseNsProto;
    default:
      return base_func_proto(func_id, ctx);
  }
}

}  // namespace bpfbox::progs
