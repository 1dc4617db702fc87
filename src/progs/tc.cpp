// BPF_PROG_TYPE_SCHED_CLS and BPF_PROG_TYPE_SCHED_ACT (the kernel's tc_cls_act_verifier_ops,
// shared by both): direct packet access for reads and writes, writes of the traffic-control fields,
// and the skb-mangling helpers.
#include "helpers/protos.hpp"
#include "progs/ctx_insn.hpp"
#include "progs/func_protos.hpp"
#include "progs/skb_access.hpp"
#include "progs/types.hpp"

namespace bpfbox::progs {
namespace {

#define SKB(member) BPFBOX_CTX_FIELD(struct __sk_buff, member)

bool is_valid_access(int32_t off, uint32_t size, AccessType type, const ProgLoadContext&,
                     CtxAccessInfo* info) {
  if (type == AccessType::Write &&
      !(in_field(off, SKB(mark)) || in_field(off, SKB(tc_index)) || in_field(off, SKB(priority)) ||
        in_field(off, SKB(tc_classid)) || in_field(off, SKB(cb)) || in_field(off, SKB(tstamp)) ||
        in_field(off, SKB(queue_mapping))))
    return false;
  if (in_field(off, SKB(data)))
    info->reg_type = PTR_TO_PACKET;
  else if (in_field(off, SKB(data_meta)))
    info->reg_type = PTR_TO_PACKET_META;
  else if (in_field(off, SKB(data_end)))
    info->reg_type = PTR_TO_PACKET_END;
  else if (off >= static_cast<int32_t>(offsetof(struct __sk_buff, family)) &&
           off < static_cast<int32_t>(offsetof(struct __sk_buff, local_port) + 4))
    return false;
  else if (off == static_cast<int32_t>(offsetof(struct __sk_buff, tstamp_type)))
    return size == 1;
  return skb_is_valid_access(off, size, type, info);
}

#undef SKB

const HelperProto* get_func_proto(uint32_t func_id, const ProgLoadContext& ctx) {
  using namespace helpers;
  switch (func_id) {
    case BPF_FUNC_skb_store_bytes:
      return &kSkbStoreBytesProto;
    case BPF_FUNC_skb_load_bytes:
      return &kSkbLoadBytesProto;
    case BPF_FUNC_skb_load_bytes_relative:
      return &kSkbLoadBytesRelativeProto;
    case BPF_FUNC_skb_pull_data:
      return &kSkbPullDataProto;
    case BPF_FUNC_csum_diff:
      return &kCsumDiffProto;
    case BPF_FUNC_csum_update:
      return &kCsumUpdateProto;
    case BPF_FUNC_csum_level:
      return &kCsumLevelProto;
    case BPF_FUNC_l3_csum_replace:
      return &kL3CsumReplaceProto;
    case BPF_FUNC_l4_csum_replace:
      return &kL4CsumReplaceProto;
    case BPF_FUNC_redirect:
      return &kRedirectProto;
    case BPF_FUNC_get_hash_recalc:
      return &kGetHashRecalcProto;
    case BPF_FUNC_set_hash_invalid:
      return &kSetHashInvalidProto;
    case BPF_FUNC_set_hash:
      return &kSetHashProto;
    case BPF_FUNC_get_smp_processor_id:
      return &kGetSmpProcessorIdProto;
    case BPF_FUNC_perf_event_output:
      return &kSkbEventOutputProto;
    default:
      return sk_base_func_proto(func_id, ctx);
  }
}

// tc programs read and write the packet directly (the kernel uncloned the skb for writes).
bool may_access_direct_pkt_data(AccessType, const ProgLoadContext&) {
  return true;
}

constexpr ProgTypeOps make_ops(uint32_t type, const char* name) {
  return ProgTypeOps{
      .prog_type = type,
      .name = name,
      .ctx_size = sizeof(struct __sk_buff),
      .get_func_proto = get_func_proto,
      .is_valid_access = is_valid_access,
      .convert_ctx_access = skb_convert_ctx_access,
      .may_access_direct_pkt_data = may_access_direct_pkt_data,
      .test_run = test_run_skb,
  };
}

}  // namespace

const ProgTypeOps kSchedClsOps = make_ops(BPF_PROG_TYPE_SCHED_CLS, "sched_cls");
const ProgTypeOps kSchedActOps = make_ops(BPF_PROG_TYPE_SCHED_ACT, "sched_act");

}  // namespace bpfbox::progs
