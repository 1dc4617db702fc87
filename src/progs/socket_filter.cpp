// BPF_PROG_TYPE_SOCKET_FILTER (the kernel's sk_filter_verifier_ops): reads most of __sk_buff but
// no packet pointers (it reads the packet with LD_ABS/LD_IND and bpf_skb_load_bytes), writes only
// cb[], and gets the socket helpers' packet subset.
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
  if (in_field(off, SKB(tc_classid)) || in_field(off, SKB(data)) || in_field(off, SKB(data_meta)) ||
      in_field(off, SKB(data_end)) ||
      (off >= static_cast<int32_t>(offsetof(struct __sk_buff, family)) &&
       off < static_cast<int32_t>(offsetof(struct __sk_buff, local_port) + 4)) ||
      in_field(off, SKB(tstamp)) || in_field(off, SKB(wire_len)) || in_field(off, SKB(hwtstamp)))
    return false;
  if (type == AccessType::Write && !in_field(off, SKB(cb))) return false;
  return skb_is_valid_access(off, size, type, info);
}

#undef SKB

const HelperProto* get_func_proto(uint32_t func_id, const ProgLoadContext& ctx) {
  switch (func_id) {
    case BPF_FUNC_skb_load_bytes:
      return &helpers::kSkbLoadBytesProto;
    case BPF_FUNC_skb_load_bytes_relative:
      return &helpers::kSkbLoadBytesRelativeProto;
    case BPF_FUNC_perf_event_output:
      return &helpers::kSkbEventOutputProto;
    default:
      return sk_base_func_proto(func_id, ctx);
  }
}

bool may_access_direct_pkt_data(AccessType, const ProgLoadContext&) {
  return false;
}

}  // namespace

const ProgTypeOps kSocketFilterOps{
    .prog_type = BPF_PROG_TYPE_SOCKET_FILTER,
    .name = "socket_filter",
    .ctx_size = sizeof(struct __sk_buff),
    .get_func_proto = get_func_proto,
    .is_valid_access = is_valid_access,
    .convert_ctx_access = skb_convert_ctx_access,
    .may_access_direct_pkt_data = may_access_direct_pkt_data,
    .test_run = test_run_skb,
};

}  // namespace bpfbox::progs
