// BPF_PROG_TEST_RUN for the __sk_buff types, as the kernel's bpf_prog_test_run_skb: the packet is
// put in a buffer with NET_SKB_PAD of headroom and skb_shared_info's tailroom, eth_type_trans()
// sets protocol and pkt_type and pulls the Ethernet header; tc programs (L2) see it pushed back,
// socket filters see the network header first and get the Ethernet header back zeroed. ctx_in may
// set only mark, priority, ingress_ifindex, ifindex, cb, tstamp, wire_len, gso_segs, gso_size and
// hwtstamp (anything else non-zero: EINVAL).
#include <algorithm>
#include <cstring>
#include <vector>

#include "progs/netdev.hpp"
#include "progs/packet_run.hpp"
#include "progs/skb.hpp"
#include "progs/test_run.hpp"
#include "progs/types.hpp"

namespace bpfbox::progs {
namespace {

constexpr uint32_t kSkbHeadroom = 64;  // NET_SKB_PAD + NET_IP_ALIGN on x86-64
constexpr uint32_t kGsoMaxSegs = 65535, kGsoLegacyMaxSize = 65536;
constexpr uint8_t kPacketHost = 0, kPacketBroadcast = 1, kPacketMulticast = 2, kPacketOtherhost = 3;

bool zero(const struct __sk_buff& s, size_t from, size_t to) {
  const auto* p = reinterpret_cast<const uint8_t*>(&s);
  return std::all_of(p + from, p + to, [](uint8_t b) { return b == 0; });
}

#define END(member) (offsetof(struct __sk_buff, member) + sizeof(((__sk_buff*)nullptr)->member))
#define OFF(member) offsetof(struct __sk_buff, member)

// convert___skb_to_skb's rule: only these fields of ctx_in may be set.
bool only_allowed_fields(const struct __sk_buff& c) {
  return zero(c, 0, OFF(mark)) && zero(c, END(mark), OFF(priority)) &&
         zero(c, END(ifindex), OFF(cb)) && zero(c, END(cb), OFF(tstamp)) &&
         zero(c, END(gso_segs), OFF(gso_size)) && zero(c, END(gso_size), OFF(hwtstamp)) &&
         zero(c, END(hwtstamp), sizeof(struct __sk_buff));
}

#undef END
#undef OFF

// eth_type_trans(): pulls the Ethernet header, classifies the destination, returns h_proto
// (network byte order) or the 802.3/802.2 pseudo-protocols.
void eth_type_trans(Skb& skb, const NetDev& dev) {
  const uint8_t* eth = skb.data;
  skb.data += kEthHlen;
  skb.len -= kEthHlen;
  skb.mac_len = kEthHlen;
  if (std::memcmp(eth, dev.addr, 6) != 0) {
    if (eth[0] & 1)
      skb.pkt_type = std::memcmp(eth, dev.broadcast, 6) == 0 ? kPacketBroadcast : kPacketMulticast;
    else
      skb.pkt_type = kPacketOtherhost;
  } else {
    skb.pkt_type = kPacketHost;
  }
  const uint16_t h_proto = uint16_t(eth[12] << 8 | eth[13]);
  uint16_t proto;
  if (h_proto >= 0x600)  // ETH_P_802_3_MIN
    proto = h_proto;
  else if (skb.len >= 2 && skb.data[0] == 0xff && skb.data[1] == 0xff)
    proto = 0x0001;  // ETH_P_802_3: raw 802.3 (Novell)
  else
    proto = 0x0004;  // ETH_P_802_2
  skb.protocol = static_cast<uint16_t>(proto >> 8 | proto << 8);
}

}  // namespace

Status test_run_skb(const TestRunProgram& prog, const TestRunArgs& args, TestRunResult& result) {
  if (args.flags || args.cpu || args.batch_size)
    return Status(EINVAL, "skb programs take no flags, cpu or batch_size");
  const uint32_t size = static_cast<uint32_t>(args.data_in.size());
  if (size < kEthHlen) return Status(EINVAL, "data_in is shorter than an Ethernet header");
  if (size > kPageSize - kSkbHeadroom - kSkbSharedInfoSize)
    return Status(EINVAL, "data_in does not fit a page with the skb's head- and tailroom");

  struct __sk_buff ctx;
  bool has_ctx = false;
  if (Status st = ctx_init(args, &ctx, sizeof ctx, &has_ctx); !st) return st;

  const bool is_l2 =
      prog.prog_type == BPF_PROG_TYPE_SCHED_CLS || prog.prog_type == BPF_PROG_TYPE_SCHED_ACT;

  // One page, as slab_build_skb's: headroom, the packet, skb_shared_info's tailroom.
  std::vector<uint8_t> buffer(kPageSize, 0);
  Skb skb;
  skb.head = buffer.data();
  skb.end = buffer.data() + buffer.size() - kSkbSharedInfoSize;
  skb.data = skb.head + kSkbHeadroom;
  std::memcpy(skb.data, args.data_in.data(), size);
  skb.len = size;

  NetDev dev = loopback_netdev();
  if (has_ctx && ctx.ifindex > 1) {
    auto found = netdev_by_index(ctx.ifindex);
    if (!found) return Status(ENODEV, "ctx_in ifindex names no network device");
    dev = *found;
  }
  eth_type_trans(skb, dev);
  skb.ifindex = dev.ifindex;
  skb.network_offset = 0;
  if (is_l2) {  // tc sees the frame from its MAC header
    skb.data -= kEthHlen;
    skb.len += kEthHlen;
    skb.network_offset = kEthHlen;
  }
  skb.data_end = skb.data + skb.len;
  skb.data_meta = skb.data;

  // convert___skb_to_skb.
  if (has_ctx) {
    if (!only_allowed_fields(ctx))
      return Status(EINVAL, "ctx_in sets a field TEST_RUN does not take");
    skb.mark = ctx.mark;
    skb.priority = ctx.priority;
    skb.ingress_ifindex = ctx.ingress_ifindex;
    skb.tstamp = ctx.tstamp;
    std::memcpy(skb.cb, ctx.cb, sizeof skb.cb);
    if (ctx.wire_len == 0) {
      skb.wire_len = skb.len;
    } else {
      if (ctx.wire_len < skb.len || ctx.wire_len > kGsoLegacyMaxSize)
        return Status(EINVAL, "ctx_in wire_len is below the packet's length or too large");
      skb.wire_len = ctx.wire_len;
    }
    if (ctx.gso_segs > kGsoMaxSegs) return Status(EINVAL, "ctx_in gso_segs is too large");
    skb.gso_segs = static_cast<uint16_t>(ctx.gso_segs);
    skb.gso_size = static_cast<uint16_t>(ctx.gso_size);
    skb.hwtstamp = ctx.hwtstamp;
  } else {
    skb.wire_len = skb.len;
  }

  PacketRun run;
  RunInput in{.ctx = &skb,
              .ctx_size = sizeof skb,
              .buffer = args.checked_exact_packet ? std::span<uint8_t>(skb.data, skb.data_end)
                                                  : std::span<uint8_t>(buffer),
              .user = &run,
              .ld_abs_data = skb.data,
              .ld_abs_len = skb.len,
              .regions = args.checked_regions};
  if (Status st = run_repeat(prog, in, args.repeat, result); !st) return st;

  if (!is_l2) {  // the Ethernet header comes back, zeroed
    skb.data -= kEthHlen;
    skb.len += kEthHlen;
    std::memset(skb.data, 0, kEthHlen);
  }
  // convert_skb_to___skb.
  if (has_ctx) {
    ctx.mark = skb.mark;
    ctx.priority = skb.priority;
    ctx.ingress_ifindex = skb.ingress_ifindex;
    ctx.ifindex = skb.ifindex;
    ctx.tstamp = skb.tstamp;
    std::memcpy(ctx.cb, skb.cb, sizeof ctx.cb);
    ctx.wire_len = skb.wire_len;
    ctx.gso_segs = skb.gso_segs;
    ctx.hwtstamp = skb.hwtstamp;
  }
  if (Status st = finish_data(args, skb.data, skb.len, result); !st) return st;
  return finish_ctx(args, &ctx, sizeof ctx, has_ctx, result);
}

}  // namespace bpfbox::progs
