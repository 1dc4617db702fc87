// The XDP frame helpers (net/core/filter.c) over the XdpBuff context: moving data, data_meta and
// data_end within the frame with the kernel's limits (room for struct xdp_frame at the head,
// skb_shared_info at the tail, an Ethernet header always left), and bytes across the frame.
// bpfbox frames are single-buffer: no fragments.
#include <cerrno>
#include <cstring>

#include "bpfbox/maps.hpp"
#include "helpers/protos.hpp"
#include "progs/xdp_buff.hpp"

namespace bpfbox::helpers {
namespace {

using progs::XdpBuff;

XdpBuff* xdp_of(uint64_t r) {
  return reinterpret_cast<XdpBuff*>(r);
}
uint64_t err(int e) {
  return static_cast<uint64_t>(-static_cast<int64_t>(e));
}
bool meta_unsupported(const XdpBuff* xdp) {
  return xdp->data_meta > xdp->data;
}
uint64_t metalen(const XdpBuff* xdp) {
  return meta_unsupported(xdp) ? 0 : uint64_t(xdp->data - xdp->data_meta);
}

uint64_t xdp_adjust_head(uint64_t ctx, uint64_t offset, uint64_t, uint64_t, uint64_t,
                         vm::RunContext*) {
  XdpBuff* xdp = xdp_of(ctx);
  const int32_t off = static_cast<int32_t>(offset);
  const uint64_t meta = metalen(xdp);
  const uint8_t* data_start = xdp->data_hard_start + progs::kXdpFrameSize + meta;
  uint8_t* data = xdp->data + off;
  if (data < data_start || data > xdp->data_end - progs::kEthHlen) return err(EINVAL);
  if (meta) std::memmove(xdp->data_meta + off, xdp->data_meta, meta);
  xdp->data_meta += off;
  xdp->data = data;
  return 0;
}

uint64_t xdp_adjust_meta(uint64_t ctx, uint64_t offset, uint64_t, uint64_t, uint64_t,
                         vm::RunContext*) {
  XdpBuff* xdp = xdp_of(ctx);
  const int32_t off = static_cast<int32_t>(offset);
  if (meta_unsupported(xdp)) return err(maps::kENOTSUPP);
  uint8_t* meta = xdp->data_meta + off;
  if (meta < xdp->data_hard_start + progs::kXdpFrameSize || meta > xdp->data) return err(EINVAL);
  if (progs::xdp_metalen_invalid(uint64_t(xdp->data - meta))) return err(EACCES);
  xdp->data_meta = meta;
  return 0;
}

uint64_t xdp_adjust_tail(uint64_t ctx, uint64_t offset, uint64_t, uint64_t, uint64_t,
                         vm::RunContext*) {
  XdpBuff* xdp = xdp_of(ctx);
  const int32_t off = static_cast<int32_t>(offset);
  // xdp_data_hard_end(): the frame's end less the skb_shared_info tailroom.
  const uint8_t* hard_end = xdp->data_hard_start + xdp->frame_sz - progs::kSkbSharedInfoSize;
  uint8_t* data_end = xdp->data_end + off;
  if (data_end > hard_end) return err(EINVAL);
  if (data_end < xdp->data + progs::kEthHlen) return err(EINVAL);
  if (off > 0) std::memset(xdp->data_end, 0, static_cast<size_t>(off));  // never leak old bytes
  xdp->data_end = data_end;
  return 0;
}

uint64_t xdp_get_buff_len(uint64_t ctx, uint64_t, uint64_t, uint64_t, uint64_t, vm::RunContext*) {
  const XdpBuff* xdp = xdp_of(ctx);
  return uint64_t(xdp->data_end - xdp->data);
}

uint64_t xdp_load_bytes(uint64_t ctx, uint64_t offset, uint64_t buf, uint64_t len, uint64_t,
                        vm::RunContext*) {
  const XdpBuff* xdp = xdp_of(ctx);
  const uint32_t off = static_cast<uint32_t>(offset), n = static_cast<uint32_t>(len);
  if (uint64_t(off) + n > uint64_t(xdp->data_end - xdp->data)) return err(EINVAL);
  std::memcpy(reinterpret_cast<void*>(buf), xdp->data + off, n);
  return 0;
}

uint64_t xdp_store_bytes(uint64_t ctx, uint64_t offset, uint64_t buf, uint64_t len, uint64_t,
                         vm::RunContext*) {
  XdpBuff* xdp = xdp_of(ctx);
  const uint32_t off = static_cast<uint32_t>(offset), n = static_cast<uint32_t>(len);
  if (uint64_t(off) + n > uint64_t(xdp->data_end - xdp->data)) return err(EINVAL);
  std::memmove(xdp->data + off, reinterpret_cast<const void*>(buf), n);
  return 0;
}

}  // namespace

const HelperProto kXdpAdjustHeadProto{.func_id = BPF_FUNC_xdp_adjust_head,
                                      .name = "bpf_xdp_adjust_head",
                                      .fn = xdp_adjust_head,
                                      .changes_pkt_data = true,
                                      .ret_type = RET_INTEGER,
                                      .arg_type = {ARG_PTR_TO_CTX, ARG_ANYTHING}};
const HelperProto kXdpAdjustMetaProto{.func_id = BPF_FUNC_xdp_adjust_meta,
                                      .name = "bpf_xdp_adjust_meta",
                                      .fn = xdp_adjust_meta,
                                      .changes_pkt_data = true,
                                      .ret_type = RET_INTEGER,
                                      .arg_type = {ARG_PTR_TO_CTX, ARG_ANYTHING}};
const HelperProto kXdpAdjustTailProto{.func_id = BPF_FUNC_xdp_adjust_tail,
                                      .name = "bpf_xdp_adjust_tail",
                                      .fn = xdp_adjust_tail,
                                      .changes_pkt_data = true,
                                      .ret_type = RET_INTEGER,
                                      .arg_type = {ARG_PTR_TO_CTX, ARG_ANYTHING}};
const HelperProto kXdpGetBuffLenProto{.func_id = BPF_FUNC_xdp_get_buff_len,
                                      .name = "bpf_xdp_get_buff_len",
                                      .fn = xdp_get_buff_len,
                                      .ret_type = RET_INTEGER,
                                      .arg_type = {ARG_PTR_TO_CTX}};
const HelperProto kXdpLoadBytesProto{
    .func_id = BPF_FUNC_xdp_load_bytes,
    .name = "bpf_xdp_load_bytes",
    .fn = xdp_load_bytes,
    .ret_type = RET_INTEGER,
    .arg_type = {ARG_PTR_TO_CTX, ARG_ANYTHING, ARG_PTR_TO_UNINIT_MEM, ARG_CONST_SIZE}};
const HelperProto kXdpStoreBytesProto{
    .func_id = BPF_FUNC_xdp_store_bytes,
    .name = "bpf_xdp_store_bytes",
    .fn = xdp_store_bytes,
    .ret_type = RET_INTEGER,
    .arg_type = {ARG_PTR_TO_CTX, ARG_ANYTHING, uint32_t(ARG_PTR_TO_MEM) | MEM_RDONLY,
                 ARG_CONST_SIZE}};

}  // namespace bpfbox::helpers
