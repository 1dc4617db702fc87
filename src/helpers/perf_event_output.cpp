// bpf_perf_event_output for skb and XDP programs (net/core/filter.c's bpf_skb_event_output and
// bpf_xdp_event_output): one PERF_RECORD_SAMPLE into the PERF_EVENT_ARRAY slot flags pick, holding
// the program's data followed by the first (flags >> 32) bytes of the packet.
#include <cerrno>
#include <cstring>

#include "bpfbox/maps.hpp"
#include "helpers/protos.hpp"
#include "progs/skb.hpp"
#include "progs/xdp_buff.hpp"

namespace bpfbox::helpers {
namespace {

uint64_t err(int e) {
  return static_cast<uint64_t>(-static_cast<int64_t>(e));
}

// A record is at most a perf header's u16 size; the sample is assembled here (one per thread, so
// runs allocate nothing).
constexpr uint64_t kMaxSample = 65536;

uint64_t output(uint64_t m, uint64_t flags, uint64_t meta, uint64_t meta_size, const uint8_t* pkt,
                uint64_t pkt_avail, vm::RunContext* rc) {
  const uint64_t ctx_size = (flags & BPF_F_CTXLEN_MASK) >> 32;
  if (flags & ~(BPF_F_CTXLEN_MASK | BPF_F_INDEX_MASK)) return err(EINVAL);
  if (ctx_size > pkt_avail) return err(EFAULT);
  auto* map = reinterpret_cast<maps::Map*>(m);
  const uint64_t index_flags = flags & BPF_F_INDEX_MASK;
  if (ctx_size == 0)
    return static_cast<uint64_t>(maps::perf_event_output(
        map, index_flags, reinterpret_cast<const void*>(meta), meta_size, rc->cpu));
  if (meta_size + ctx_size > kMaxSample) return err(E2BIG);
  thread_local uint8_t sample[kMaxSample];
  std::memcpy(sample, reinterpret_cast<const void*>(meta), meta_size);
  std::memcpy(sample + meta_size, pkt, ctx_size);
  return static_cast<uint64_t>(
      maps::perf_event_output(map, index_flags, sample, meta_size + ctx_size, rc->cpu));
}

uint64_t skb_event_output(uint64_t ctx, uint64_t m, uint64_t flags, uint64_t meta,
                          uint64_t meta_size, vm::RunContext* rc) {
  const auto* skb = reinterpret_cast<const progs::Skb*>(ctx);
  return output(m, flags, meta, meta_size, skb->data, skb->len, rc);
}

uint64_t xdp_event_output(uint64_t ctx, uint64_t m, uint64_t flags, uint64_t meta,
                          uint64_t meta_size, vm::RunContext* rc) {
  const auto* xdp = reinterpret_cast<const progs::XdpBuff*>(ctx);
  return output(m, flags, meta, meta_size, xdp->data, uint64_t(xdp->data_end - xdp->data), rc);
}

}  // namespace

const HelperProto kSkbEventOutputProto{
    .func_id = BPF_FUNC_perf_event_output,
    .name = "bpf_perf_event_output",
    .fn = skb_event_output,
    .gpl_only = true,
    .ret_type = RET_INTEGER,
    .arg_type = {ARG_PTR_TO_CTX, ARG_CONST_MAP_PTR, ARG_ANYTHING,
                 uint32_t(ARG_PTR_TO_MEM) | MEM_RDONLY, ARG_CONST_SIZE_OR_ZERO},
    .map_types = map_type_bit(BPF_MAP_TYPE_PERF_EVENT_ARRAY)};
const HelperProto kXdpEventOutputProto{
    .func_id = BPF_FUNC_perf_event_output,
    .name = "bpf_perf_event_output",
    .fn = xdp_event_output,
    .gpl_only = true,
    .ret_type = RET_INTEGER,
    .arg_type = {ARG_PTR_TO_CTX, ARG_CONST_MAP_PTR, ARG_ANYTHING,
                 uint32_t(ARG_PTR_TO_MEM) | MEM_RDONLY, ARG_CONST_SIZE_OR_ZERO},
    .map_types = map_type_bit(BPF_MAP_TYPE_PERF_EVENT_ARRAY)};

}  // namespace bpfbox::helpers
