// The helper prototypes (the kernel's struct bpf_func_proto), each defined next to its
// implementation, one file per group. Program types hand them to the verifier from their
// get_func_proto (src/progs); a prototype's `fn` is what `call func_id` runs.
//
// Where the kernel has several prototypes for one helper id (bpf_redirect for tc and for XDP,
// bpf_perf_event_output for skb and XDP programs), each has its own object here, as there.
#pragma once

#include "bpfbox/helper_proto.hpp"

namespace bpfbox::helpers {

// Core (core.hpp): time, random numbers, the CPU, bpf_trace_printk.
extern const HelperProto kKtimeGetNsProto, kKtimeGetBootNsProto, kKtimeGetCoarseNsProto;
extern const HelperProto kGetPrandomU32Proto;
extern const HelperProto kGetSmpProcessorIdProto, kGetNumaNodeIdProto;
extern const HelperProto kTracePrintkProto;

// Maps (map.cpp): through maps::Map::prog() with the run's CPU slot.
extern const HelperProto kMapLookupElemProto, kMapUpdateElemProto, kMapDeleteElemProto;
extern const HelperProto kMapPushElemProto, kMapPopElemProto, kMapPeekElemProto;
extern const HelperProto kMapLookupPercpuElemProto;

// BPF_MAP_TYPE_RINGBUF (ringbuf.cpp).
extern const HelperProto kRingbufOutputProto, kRingbufReserveProto, kRingbufSubmitProto,
    kRingbufDiscardProto, kRingbufQueryProto;

// Callbacks (callbacks.cpp): bpf_loop, bpf_for_each_map_elem, through RunContext::call_function.
extern const HelperProto kLoopProto, kForEachMapElemProto;

// bpf_spin_lock / bpf_spin_unlock (spin_lock.cpp) on the struct bpf_spin_lock of a map value.
extern const HelperProto kSpinLockProto, kSpinUnlockProto;

// bpf_tail_call (tail_call.cpp): the prototype only; the engines run `call 12` themselves.
extern const HelperProto kTailCallProto;

// struct sk_buff programs (skb.cpp): packet bytes, pulls, the flow hash.
extern const HelperProto kSkbLoadBytesProto, kSkbLoadBytesRelativeProto, kSkbStoreBytesProto;
extern const HelperProto kSkbPullDataProto, kGetHashRecalcProto, kSetHashInvalidProto,
    kSetHashProto;

// Checksums (csum.cpp).
extern const HelperProto kCsumDiffProto, kL3CsumReplaceProto, kL4CsumReplaceProto, kCsumUpdateProto,
    kCsumLevelProto;

// XDP (xdp.cpp): moving the frame's pointers, bytes across the frame.
extern const HelperProto kXdpAdjustHeadProto, kXdpAdjustMetaProto, kXdpAdjustTailProto;
extern const HelperProto kXdpGetBuffLenProto, kXdpLoadBytesProto, kXdpStoreBytesProto;

// Redirects (redirect.cpp): recorded in the run's progs::PacketRun.
extern const HelperProto kRedirectProto;        // tc: TC_ACT_REDIRECT
extern const HelperProto kXdpRedirectProto;     // XDP: XDP_REDIRECT
extern const HelperProto kXdpRedirectMapProto;  // DEVMAP / DEVMAP_HASH

// bpf_perf_event_output (perf_event_output.cpp): skb and XDP flavours.
extern const HelperProto kSkbEventOutputProto, kXdpEventOutputProto;

// Whether a helper invalidates packet pointers (the kernel's bpf_helper_changes_pkt_data()).
bool helper_changes_pkt_data(uint32_t func_id);

}  // namespace bpfbox::helpers
