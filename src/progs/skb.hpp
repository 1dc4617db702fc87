// The context __sk_buff programs (SOCKET_FILTER, SCHED_CLS, SCHED_ACT) really run on, as the
// kernel runs them on struct sk_buff: r1 points to an Skb, and the verifier's rewrite
// (convert_ctx_access in skb_access.cpp) turns each struct __sk_buff access into loads and stores
// of these fields. Plain data, so the packet helpers (src/helpers) use it too.
//
// Field widths follow the kernel's sk_buff where a program can tell the difference (a narrow load
// of a u16 field such as protocol behaves as the kernel's: the verifier shifts and masks within the
// field's target size), so narrow loads give the kernel's results.
#pragma once

#include <cstddef>
#include <cstdint>

namespace bpfbox::progs {

struct Skb {
  // The packet: [data, data_end) is what the program sees (the linear part; bpfbox skbs are always
  // linear), inside the buffer [head, end) that also holds the headroom and tailroom.
  uint8_t* data = nullptr;
  uint8_t* data_end = nullptr;
  uint8_t* data_meta = nullptr;  // == data: skbs built by TEST_RUN carry no XDP metadata
  uint8_t* head = nullptr;
  uint8_t* end = nullptr;
  uint64_t tstamp = 0;
  uint64_t hwtstamp = 0;  // skb_shinfo(skb)->hwtstamps.hwtstamp
  uint32_t len = 0;       // data_end - data
  uint32_t mark = 0;
  uint32_t priority = 0;
  uint32_t ingress_ifindex = 0;  // skb_iif
  uint32_t ifindex = 0;          // skb->dev->ifindex
  uint32_t hash = 0;
  uint32_t napi_id = 0;
  uint32_t cb[5] = {};      // qdisc_skb_cb.data: the program's scratch space
  uint32_t wire_len = 0;    // qdisc_skb_cb.pkt_len
  uint32_t csum = 0;        // meaningful when ip_summed is CHECKSUM_COMPLETE
  uint16_t vlan_proto = 0;  // with vlan_tci, the kernel's vlan_all word:
  uint16_t vlan_tci = 0;    //   vlan_present reads both as one u32 and tests it for zero
  uint16_t protocol = 0;    // network byte order, as eth_type_trans() stores it
  uint16_t queue_mapping = 0;
  uint16_t tc_index = 0;
  uint16_t tc_classid = 0;  // qdisc_skb_cb.tc_classid
  uint16_t gso_segs = 0;
  uint16_t gso_size = 0;
  uint16_t mac_len = 0;  // bytes of link-layer header before the network header
  uint8_t pkt_type = 0;  // PACKET_HOST, PACKET_BROADCAST, ... (3 bits in the kernel)
  uint8_t tstamp_type = 0;
  uint8_t ip_summed = 0;  // CHECKSUM_NONE: TEST_RUN's skbs
  uint8_t l4_hash = 0;    // hash came from the L4 tuple
  uint8_t sw_hash = 0;    // hash was computed in software
  uint8_t network_offset_valid = 0;
  int32_t network_offset = 0;  // network header, relative to data (negative: before data)
};

// The kernel's values the context exposes.
constexpr uint8_t kPktTypeMax = 7;            // PKT_TYPE_MAX: pkt_type is a 3-bit field
constexpr uint16_t kNoQueueMapping = 0xffff;  // NO_QUEUE_MAPPING: writes of it are ignored
constexpr uint8_t kChecksumNone = 0, kChecksumUnnecessary = 1, kChecksumComplete = 2,
                  kChecksumPartial = 3;

}  // namespace bpfbox::progs
