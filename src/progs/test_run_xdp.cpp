// BPF_PROG_TEST_RUN for XDP, as the kernel's bpf_prog_test_run_xdp: the frame is one page with
// XDP_PACKET_HEADROOM before the packet and skb_shared_info's tailroom after it, received on the
// loopback device's queue 0 unless ctx_in names another device and queue. ctx_in's data is the
// size of the metadata at the start of data_in, data_end the end of the linear part; data_out is
// the frame from data_meta to data_end after the program moved them.
//
// Not supported (documented in docs/progs.md): multi-buffer frames (data_in longer than the
// linear part) and BPF_F_TEST_XDP_LIVE_FRAMES, which sends frames into the kernel's stack.
#include <algorithm>
#include <cstring>
#include <vector>

#include "progs/netdev.hpp"
#include "progs/packet_run.hpp"
#include "progs/test_run.hpp"
#include "progs/types.hpp"
#include "progs/xdp_buff.hpp"

namespace bpfbox::progs {

Status test_run_xdp(const TestRunProgram& prog, const TestRunArgs& args, TestRunResult& result) {
  if (prog.expected_attach_type == BPF_XDP_DEVMAP || prog.expected_attach_type == BPF_XDP_CPUMAP)
    return Status(EINVAL, "device and CPU map programs cannot be test-run");
  if (args.flags & ~uint32_t(BPF_F_TEST_XDP_LIVE_FRAMES))
    return Status(EINVAL, "unknown TEST_RUN flags for XDP");
  if (args.flags & BPF_F_TEST_XDP_LIVE_FRAMES)
    return Status(EOPNOTSUPP, "BPF_F_TEST_XDP_LIVE_FRAMES: bpfbox has no network stack to send to");
  if (args.batch_size) return Status(EINVAL, "batch_size is for live frames only");

  struct xdp_md ctx;
  bool has_ctx = false;
  if (Status st = ctx_init(args, &ctx, sizeof ctx, &has_ctx); !st) return st;

  const uint32_t data_size_in = static_cast<uint32_t>(args.data_in.size());
  uint32_t headroom = kXdpPacketHeadroom, meta_sz = 0, linear_sz = data_size_in;
  if (has_ctx) {
    // No user data before the metadata; the linear part within data_in.
    if (ctx.data_meta || ctx.data_end > data_size_in || ctx.data > ctx.data_end)
      return Status(EINVAL, "ctx_in data_meta must be 0 and data <= data_end <= data_size_in");
    meta_sz = ctx.data;
    if (xdp_metalen_invalid(meta_sz) || meta_sz > headroom - kXdpFrameSize)
      return Status(EINVAL, "ctx_in metadata size must be a multiple of 4 and fit the headroom");
    headroom -= meta_sz;
    linear_sz = ctx.data_end;
  }
  const uint32_t max_linear_sz = kPageSize - headroom - kSkbSharedInfoSize;
  linear_sz = std::min(linear_sz, max_linear_sz);
  if (data_size_in - meta_sz < kEthHlen)
    return Status(EINVAL, "data_in is shorter than the metadata and an Ethernet header");
  if (data_size_in > linear_sz)
    return Status(EOPNOTSUPP,
                  "multi-buffer XDP frames (data_in beyond the linear part) are not supported");

  // xdp_convert_md_to_buff: the receive queue.
  uint32_t ingress_ifindex = loopback_netdev().ifindex, rx_queue_index = 0;
  if (has_ctx) {
    if (ctx.egress_ifindex != 0) return Status(EINVAL, "ctx_in egress_ifindex must be 0");
    if (!ctx.ingress_ifindex && ctx.rx_queue_index)
      return Status(EINVAL, "ctx_in rx_queue_index needs an ingress_ifindex");
    if (ctx.ingress_ifindex) {
      auto dev = netdev_by_index(ctx.ingress_ifindex);
      if (!dev) return Status(ENODEV, "ctx_in ingress_ifindex names no network device");
      if (ctx.rx_queue_index >= dev->num_rx_queues)
        return Status(EINVAL, "ctx_in rx_queue_index is not a queue of the device");
      ingress_ifindex = ctx.ingress_ifindex;
      rx_queue_index = ctx.rx_queue_index;
    }
  }

  std::vector<uint8_t> frame(kPageSize, 0);  // frame_sz = PAGE_SIZE, as the loopback rxq's
  XdpBuff xdp;
  xdp.data_hard_start = frame.data();
  xdp.frame_sz = kPageSize;
  xdp.data_meta = frame.data() + headroom;
  std::memcpy(xdp.data_meta, args.data_in.data(), linear_sz);
  xdp.data = xdp.data_meta + meta_sz;
  xdp.data_end = xdp.data_meta + linear_sz;
  xdp.ingress_ifindex = ingress_ifindex;
  xdp.rx_queue_index = rx_queue_index;

  PacketRun run;
  const std::span<uint8_t> linear(xdp.data_meta, xdp.data_end);
  RunInput in{.ctx = &xdp,
              .ctx_size = sizeof xdp,
              .buffer = args.checked_exact_packet ? linear : std::span<uint8_t>(frame),
              .user = &run,
              .regions = args.checked_regions};
  Status ran = run_repeat(prog, in, args.repeat, result);

  // xdp_convert_buff_to_md.
  if (has_ctx) {
    ctx.data = static_cast<uint32_t>(xdp.data - xdp.data_meta);
    ctx.data_end = static_cast<uint32_t>(xdp.data_end - xdp.data_meta);
  }
  if (!ran) return ran;
  if (Status st = finish_data(args, xdp.data_meta, uint32_t(xdp.data_end - xdp.data_meta), result);
      !st)
    return st;
  return finish_ctx(args, &ctx, sizeof ctx, has_ctx, result);
}

}  // namespace bpfbox::progs
