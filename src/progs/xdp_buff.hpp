// The context XDP programs really run on, as the kernel runs them on struct xdp_buff: r1 points to
// an XdpBuff and the rewrite (xdp.cpp) turns each struct xdp_md access into a load of these
// fields. The frame is one buffer of frame_sz bytes:
//
//   data_hard_start ... data_meta ... data ... data_end ... (tailroom for skb_shared_info)
//
// so bpf_xdp_adjust_head/meta/tail (src/helpers/xdp.cpp) move the pointers within it exactly as
// the kernel does. Plain data, shared with the helpers.
#pragma once

#include <cstdint>

#include "progs/packet_limits.hpp"

namespace bpfbox::progs {

struct XdpBuff {
  uint8_t* data = nullptr;
  uint8_t* data_end = nullptr;
  uint8_t* data_meta = nullptr;  // == data when there is no metadata; data + 1: unsupported
  uint8_t* data_hard_start = nullptr;
  uint32_t frame_sz = 0;  // bytes from data_hard_start to the end of the frame, tailroom included
  uint32_t ingress_ifindex = 0;  // rxq->dev->ifindex
  uint32_t rx_queue_index = 0;   // rxq->queue_index
  uint32_t egress_ifindex = 0;   // txq->dev->ifindex (devmap programs)
};

// The kernel's constants around an xdp_buff (x86-64 sizes, checked against its BTF).
constexpr uint32_t kXdpPacketHeadroom = 256;  // XDP_PACKET_HEADROOM
constexpr uint32_t kXdpFrameSize = 40;        // sizeof(struct xdp_frame), kept at the head

// xdp_metalen_invalid(): metadata is a multiple of 4 bytes and fits skb_shared_info's u8 meta_len.
constexpr bool xdp_metalen_invalid(uint64_t metalen) {
  return (metalen & 3) != 0 || metalen > 255;
}

}  // namespace bpfbox::progs
