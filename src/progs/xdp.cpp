// BPF_PROG_TYPE_XDP (the kernel's xdp_verifier_ops): struct xdp_md is read-only, every field a
// full u32; data, data_meta and data_end become pointers into the frame (XdpBuff).
#include "helpers/protos.hpp"
#include "progs/ctx_insn.hpp"
#include "progs/func_protos.hpp"
#include "progs/types.hpp"
#include "progs/xdp_buff.hpp"

namespace bpfbox::progs {
namespace {

bool is_valid_access(int32_t off, uint32_t size, AccessType type, const ProgLoadContext& ctx,
                     CtxAccessInfo* info) {
  // egress_ifindex exists only for programs run from a device map.
  if (ctx.expected_attach_type != BPF_XDP_DEVMAP &&
      off == static_cast<int32_t>(offsetof(struct xdp_md, egress_ifindex)))
    return false;
  // Writes are for offloaded programs only (bpfbox offloads nothing).
  if (type == AccessType::Write) return false;
  switch (off) {
    case offsetof(struct xdp_md, data):
      if (info->is_ldsx) return false;
      info->reg_type = PTR_TO_PACKET;
      break;
    case offsetof(struct xdp_md, data_meta):
      if (info->is_ldsx) return false;
      info->reg_type = PTR_TO_PACKET_META;
      break;
    case offsetof(struct xdp_md, data_end):
      if (info->is_ldsx) return false;
      info->reg_type = PTR_TO_PACKET_END;
      break;
  }
  return off >= 0 && off < static_cast<int32_t>(sizeof(struct xdp_md)) && off % size == 0 &&
         size == 4;
}

uint32_t convert_ctx_access(AccessType, const struct bpf_insn& si, struct bpf_insn* out,
                            uint32_t* target_size) {
  size_t field = 0;
  uint8_t size = BPF_W;
  switch (si.off) {
    case offsetof(struct xdp_md, data):
      field = offsetof(XdpBuff, data), size = BPF_DW;
      break;
    case offsetof(struct xdp_md, data_meta):
      field = offsetof(XdpBuff, data_meta), size = BPF_DW;
      break;
    case offsetof(struct xdp_md, data_end):
      field = offsetof(XdpBuff, data_end), size = BPF_DW;
      break;
    case offsetof(struct xdp_md, ingress_ifindex):
      field = offsetof(XdpBuff, ingress_ifindex);
      break;
    case offsetof(struct xdp_md, rx_queue_index):
      field = offsetof(XdpBuff, rx_queue_index);
      break;
    case offsetof(struct xdp_md, egress_ifindex):
      field = offsetof(XdpBuff, egress_ifindex);
      break;
    default:
      return 0;
  }
  *target_size = size == BPF_DW ? 8 : 4;
  out[0] = ldx_mem(size, si.dst_reg, si.src_reg, field);
  return 1;
}

const HelperProto* get_func_proto(uint32_t func_id, const ProgLoadContext& ctx) {
  using namespace helpers;
  switch (func_id) {
    case BPF_FUNC_get_smp_processor_id:
      return &kGetSmpProcessorIdProto;
    case BPF_FUNC_perf_event_output:
      return &kXdpEventOutputProto;
    case BPF_FUNC_csum_diff:
      return &kCsumDiffProto;
    case BPF_FUNC_xdp_adjust_head:
      return &kXdpAdjustHeadProto;
    case BPF_FUNC_xdp_adjust_meta:
      return &kXdpAdjustMetaProto;
    case BPF_FUNC_redirect:
      return &kXdpRedirectProto;
    case BPF_FUNC_redirect_map:
      return &kXdpRedirectMapProto;
    case BPF_FUNC_xdp_adjust_tail:
      return &kXdpAdjustTailProto;
    case BPF_FUNC_xdp_get_buff_len:
      return &kXdpGetBuffLenProto;
    case BPF_FUNC_xdp_load_bytes:
      return &kXdpLoadBytesProto;
    case BPF_FUNC_xdp_store_bytes:
      return &kXdpStoreBytesProto;
    default:
      return sk_base_func_proto(func_id, ctx);
  }
}

bool may_access_direct_pkt_data(AccessType, const ProgLoadContext&) {
  return true;
}

}  // namespace

const ProgTypeOps kXdpOps{
    .prog_type = BPF_PROG_TYPE_XDP,
    .name = "xdp",
    .ctx_size = sizeof(struct xdp_md),
    .get_func_proto = get_func_proto,
    .is_valid_access = is_valid_access,
    .convert_ctx_access = convert_ctx_access,
    .may_access_direct_pkt_data = may_access_direct_pkt_data,
    .test_run = test_run_xdp,
};

}  // namespace bpfbox::progs
