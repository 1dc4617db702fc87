// Test frames: Ethernet + IPv4 + TCP with valid checksums, and variants of the destination and
// EtherType that exercise eth_type_trans's classification.
#pragma once

#include <cstdint>
#include <vector>

namespace bpfbox::testprogs {

// 14 (Ethernet) + 20 (IPv4, checksum at 24) + 20 (TCP, checksum at 50) + 8 payload = 62 bytes.
// dst MAC all zero: the loopback device's own address.
std::vector<uint8_t> ipv4_tcp_frame();

// The same frame with another destination MAC / EtherType.
std::vector<uint8_t> with_dst(std::vector<uint8_t> frame, uint8_t first_byte, uint8_t rest);
std::vector<uint8_t> with_ethertype(std::vector<uint8_t> frame, uint16_t type);

}  // namespace bpfbox::testprogs
