// What TEST_RUN needs to know about the host's network devices (the kernel looks them up in the
// caller's network namespace): whether an ifindex exists, its hardware and broadcast addresses
// (eth_type_trans's pkt_type) and its receive queues (XDP's rx_queue_index).
#pragma once

#include <cstdint>
#include <optional>

namespace bpfbox::progs {

struct NetDev {
  uint32_t ifindex = 0;
  uint8_t addr[6] = {};
  uint8_t broadcast[6] = {};
  uint32_t num_rx_queues = 1;  // real_num_rx_queues
};

// The device with this ifindex, or nullopt (the kernel's ENODEV).
std::optional<NetDev> netdev_by_index(uint32_t ifindex);

// The loopback device TEST_RUN uses by default (ifindex 1, all-zero addresses).
const NetDev& loopback_netdev();

}  // namespace bpfbox::progs
