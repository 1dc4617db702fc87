// Per-run state of a packet program that is not in its context: what bpf_redirect and
// bpf_redirect_map record for the caller (the kernel's per-CPU struct bpf_redirect_info). A run
// points RunContext::user at one; helpers reach it with packet_run(rc).
#pragma once

#include <cstdint>

#include "bpfbox/vm.hpp"

namespace bpfbox::maps {
class Map;
}

namespace bpfbox::progs {

struct RedirectInfo {
  uint32_t tgt_index = 0;    // the ifindex (bpf_redirect) or the map key (bpf_redirect_map)
  uint32_t flags = 0;        // BPF_F_INGRESS; BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS for maps
  uint32_t map_type = 0;     // BPF_MAP_TYPE_UNSPEC for an ifindex redirect
  uint64_t tgt_value = 0;    // the device map entry found (ifindex | prog id << 32), 0: none
  maps::Map* map = nullptr;  // set for a broadcast redirect
};

struct PacketRun {
  RedirectInfo redirect;
};

// The run's PacketRun, or null when the run has none (a program run outside TEST_RUN).
inline PacketRun* packet_run(vm::RunContext* rc) {
  return rc ? static_cast<PacketRun*>(rc->user) : nullptr;
}

}  // namespace bpfbox::progs
