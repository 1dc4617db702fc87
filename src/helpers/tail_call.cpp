// bpf_tail_call's prototype. The call itself is the engines' (vm::HelperTable's tail-call lookup
// resolves the PROG_ARRAY slot and the engine jumps), so `fn` stays null here: a table built from
// prototypes installs the lookup instead of a function for id 12.
#include "helpers/protos.hpp"

namespace bpfbox::helpers {

const HelperProto kTailCallProto{.func_id = BPF_FUNC_tail_call,
                                 .name = "bpf_tail_call",
                                 .fn = nullptr,
                                 .changes_pkt_data = true,  // the callee may change the packet
                                 .ret_type = RET_VOID,
                                 .arg_type = {ARG_PTR_TO_CTX, ARG_CONST_MAP_PTR, ARG_ANYTHING},
                                 .map_types = map_type_bit(BPF_MAP_TYPE_PROG_ARRAY)};

// The kernel's bpf_helper_changes_pkt_data(): after these, every packet pointer must be checked
// again (a tail-called program could call any of them).
bool helper_changes_pkt_data(uint32_t func_id) {
  switch (func_id) {
    case BPF_FUNC_clone_redirect:
    case BPF_FUNC_l3_csum_replace:
    case BPF_FUNC_l4_csum_replace:
    case BPF_FUNC_lwt_push_encap:
    case BPF_FUNC_lwt_seg6_action:
    case BPF_FUNC_lwt_seg6_adjust_srh:
    case BPF_FUNC_lwt_seg6_store_bytes:
    case BPF_FUNC_msg_pop_data:
    case BPF_FUNC_msg_pull_data:
    case BPF_FUNC_msg_push_data:
    case BPF_FUNC_skb_adjust_room:
    case BPF_FUNC_skb_change_head:
    case BPF_FUNC_skb_change_proto:
    case BPF_FUNC_skb_change_tail:
    case BPF_FUNC_skb_pull_data:
    case BPF_FUNC_skb_store_bytes:
    case BPF_FUNC_skb_vlan_pop:
    case BPF_FUNC_skb_vlan_push:
    case BPF_FUNC_store_hdr_opt:
    case BPF_FUNC_xdp_adjust_head:
    case BPF_FUNC_xdp_adjust_meta:
    case BPF_FUNC_xdp_adjust_tail:
    case BPF_FUNC_tail_call:
      return true;
    default:
      return false;
  }
}

}  // namespace bpfbox::helpers
