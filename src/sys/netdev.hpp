// bpfbox's interfaces: there is no network stack, only a table of named virtual interfaces that
// XDP links attach to, so that attach logic (one XDP program per interface, EBUSY, detach,
// update) can be exercised as with the kernel. ifindex 1 is "lo"; others are added by
// bpfbox_netdev_add(). The table lives in the runtime dir (netdevs/<ifindex> holds the name;
// netdevs/<ifindex>.xdp names the id of the XDP link attached), shared by its processes.
#pragma once

#include <cstdint>
#include <string>

#include "bpfbox/status.hpp"

namespace bpfbox::sys {

// Whether an interface with this index exists.
bool netdev_exists(uint32_t ifindex);
// The id of the link attached at the interface's XDP hook (0: none), as recorded.
uint32_t netdev_xdp_link(uint32_t ifindex);
// Records (link_id != 0) or clears (0, only if `expect` is the recorded one) the XDP link.
void netdev_set_xdp_link(uint32_t ifindex, uint32_t link_id, uint32_t expect = 0);
// Adds an interface (or finds it by name): its ifindex.
Result<uint32_t> netdev_add(const std::string& name);

}  // namespace bpfbox::sys
