// bpf_redirect (tc and XDP flavours) and bpf_redirect_map over DEVMAP/DEVMAP_HASH: as in the
// kernel, the helper only records the target in the run's redirect info (progs::PacketRun) and
// returns the verdict; whoever ran the program acts on it. bpfbox sends nothing anywhere: TEST_RUN
// reports the verdict and keeps the record for the caller.
#include <climits>

#include "bpfbox/maps.hpp"
#include "helpers/protos.hpp"
#include "progs/packet_run.hpp"

namespace bpfbox::helpers {
namespace {

constexpr uint64_t kTcActShot = 2, kTcActRedirect = 7;  // TC_ACT_SHOT, TC_ACT_REDIRECT

uint64_t tc_redirect(uint64_t ifindex, uint64_t flags, uint64_t, uint64_t, uint64_t,
                     vm::RunContext* rc) {
  if (flags & ~uint64_t(BPF_F_INGRESS)) return kTcActShot;
  if (progs::PacketRun* run = progs::packet_run(rc)) {
    run->redirect.flags = static_cast<uint32_t>(flags);
    run->redirect.tgt_index = static_cast<uint32_t>(ifindex);
  }
  return kTcActRedirect;
}

uint64_t xdp_redirect(uint64_t ifindex, uint64_t flags, uint64_t, uint64_t, uint64_t,
                      vm::RunContext* rc) {
  if (flags) return XDP_ABORTED;
  if (progs::PacketRun* run = progs::packet_run(rc)) {
    // Map type UNSPEC (and the kernel's map_id INT_MAX) mark a redirect to an ifindex.
    run->redirect.tgt_index = static_cast<uint32_t>(ifindex);
    run->redirect.map_type = BPF_MAP_TYPE_UNSPEC;
    run->redirect.map = nullptr;
  }
  return XDP_REDIRECT;
}

// __bpf_xdp_redirect_map(): the low bits of flags are the verdict when the key has no device.
uint64_t xdp_redirect_map(uint64_t m, uint64_t key, uint64_t flags, uint64_t, uint64_t,
                          vm::RunContext* rc) {
  auto* map = reinterpret_cast<maps::Map*>(m);
  constexpr uint64_t kActionMask = XDP_ABORTED | XDP_DROP | XDP_PASS | XDP_TX;
  constexpr uint64_t kFlagMask = BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS;
  if (flags & ~(kActionMask | kFlagMask)) return XDP_ABORTED;
  const uint32_t index = static_cast<uint32_t>(key);
  const void* entry = map->prog().lookup ? map->prog().lookup(map, &index, rc->cpu) : nullptr;
  progs::PacketRun* run = progs::packet_run(rc);
  if (!entry && !(flags & BPF_F_BROADCAST)) {
    if (run) run->redirect.map_type = BPF_MAP_TYPE_UNSPEC;
    return flags & kActionMask;
  }
  if (run) {
    uint64_t value = 0;
    if (entry) value = *static_cast<const uint64_t*>(entry);
    run->redirect.tgt_value = value;
    run->redirect.tgt_index = index;
    run->redirect.map_type = map->type();
    const bool broadcast = flags & BPF_F_BROADCAST;
    run->redirect.map = broadcast ? map : nullptr;
    run->redirect.flags = broadcast ? static_cast<uint32_t>(flags) : 0;
  }
  return XDP_REDIRECT;
}

}  // namespace

const HelperProto kRedirectProto{.func_id = BPF_FUNC_redirect,
                                 .name = "bpf_redirect",
                                 .fn = tc_redirect,
                                 .ret_type = RET_INTEGER,
                                 .arg_type = {ARG_ANYTHING, ARG_ANYTHING}};
const HelperProto kXdpRedirectProto{.func_id = BPF_FUNC_redirect,
                                    .name = "bpf_redirect",
                                    .fn = xdp_redirect,
                                    .ret_type = RET_INTEGER,
                                    .arg_type = {ARG_ANYTHING, ARG_ANYTHING}};
const HelperProto kXdpRedirectMapProto{
    .func_id = BPF_FUNC_redirect_map,
    .name = "bpf_redirect_map",
    .fn = xdp_redirect_map,
    .ret_type = RET_INTEGER,
    .arg_type = {ARG_CONST_MAP_PTR, ARG_ANYTHING, ARG_ANYTHING},
    .map_types = map_type_bit(BPF_MAP_TYPE_DEVMAP) | map_type_bit(BPF_MAP_TYPE_DEVMAP_HASH) |
                 map_type_bit(BPF_MAP_TYPE_CPUMAP) | map_type_bit(BPF_MAP_TYPE_XSKMAP)};

}  // namespace bpfbox::helpers
